// Hostile: allocates until something gives.
function decodeUplink(input) {
  var hoard = [];
  for (;;) { hoard.push(new Array(1 << 16).fill(input.fPort)); }
}
