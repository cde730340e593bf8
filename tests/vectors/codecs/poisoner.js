// Hostile: tries to change the state later calls see (globals, JSON, its own entry point).
var calls = 0;
function decodeUplink(input) {
  calls++;
  if (input.fPort === 66) {
    JSON.stringify = function () { return "{\"data\": {\"t\": 999}}"; };
    decodeUplink = function () { for (;;) {} };
    Object.prototype.t = 999;
  }
  if (input.fPort === 99) { for (;;) {} }
  return {data: {t: input.bytes[0], calls: calls}};
}
