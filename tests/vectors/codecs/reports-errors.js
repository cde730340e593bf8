// A codec that refuses some frames the TTN way: errors in the result, not an exception.
function decodeUplink(input) {
  if (input.fPort !== 10) return {errors: ["unknown FPort " + input.fPort], warnings: []};
  if (input.bytes.length < 4) return {errors: ["payload too short", "need 4 bytes"]};
  if (input.bytes[0] === 0xff) throw new RangeError("reserved frame type 0xff");
  var b = input.bytes;
  return {
    data: {
      line_1: {total_in: (b[0] << 8) | b[1], total_out: (b[2] << 8) | b[3]},
      battery_mv: b.length > 4 ? b[4] * 20 : null,
      status: "ok",
      flags: [true, false]
    },
    warnings: b.length > 4 ? [] : ["no battery byte"]
  };
}
