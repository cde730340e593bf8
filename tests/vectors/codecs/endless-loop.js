// Hostile: never returns.
function decodeUplink(input) {
  var n = 0;
  for (;;) { n++; }
}
