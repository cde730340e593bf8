// Cayenne LPP 1.0 (+ the ElectronicCats extended types) as a TTN-format decodeUplink codec.
// Written for meetnet's tests from the myDevices spec (docs.mydevices.com/docs/lorawan/cayenne-lpp),
// independently of decoders/lpp.py, so that the two can be checked against each other.
// data: one field per LPP type name with the value of the LOWEST channel carrying it (the rule
// of decoders/lpp.py), and every item under channels["<n>"].
var LPP_TYPES = {
  0: ["digital_input", 1, false, 1], 1: ["digital_output", 1, false, 1],
  2: ["analog_input", 2, true, 100], 3: ["analog_output", 2, true, 100],
  100: ["generic_sensor", 4, false, 1], 101: ["illuminance", 2, false, 1],
  102: ["presence", 1, false, 1], 103: ["temperature", 2, true, 10],
  104: ["relative_humidity", 1, false, 2], 113: ["accelerometer", 6, true, 1000],
  115: ["barometric_pressure", 2, false, 10], 116: ["voltage", 2, false, 100],
  117: ["current", 2, false, 1000], 118: ["frequency", 4, false, 1],
  120: ["percentage", 1, false, 1], 121: ["altitude", 2, true, 1], 128: ["power", 2, false, 1],
  130: ["distance", 4, false, 1000], 131: ["energy", 4, false, 1000],
  132: ["direction", 2, false, 1], 133: ["unixtime", 4, false, 1],
  134: ["gyrometer", 6, true, 100], 136: ["gps", 9, true, 1], 142: ["switch", 1, false, 1],
  143: ["ppm", 2, false, 1], 144: ["rgb", 3, false, 1]
};

function readInt(bytes, start, size, signed) {
  var v = 0;
  for (var i = 0; i < size; i++) v = v * 256 + bytes[start + i];
  if (signed && v >= Math.pow(2, 8 * size - 1)) v -= Math.pow(2, 8 * size);
  return v;
}

function value(bytes, start, t) {
  var name = t[0];
  if (name === "accelerometer" || name === "gyrometer") {
    return {x: readInt(bytes, start, 2, true) / t[3], y: readInt(bytes, start + 2, 2, true) / t[3],
            z: readInt(bytes, start + 4, 2, true) / t[3]};
  }
  if (name === "gps") {
    return {latitude: readInt(bytes, start, 3, true) / 10000,
            longitude: readInt(bytes, start + 3, 3, true) / 10000,
            altitude: readInt(bytes, start + 6, 3, true) / 100};
  }
  if (name === "rgb") return {r: bytes[start], g: bytes[start + 1], b: bytes[start + 2]};
  return readInt(bytes, start, t[1], t[2]) / t[3];
}

function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort < 1 || input.fPort > 223) return {errors: ["fPort " + input.fPort + " is not an application port"]};
  if (bytes.length === 0) return {errors: ["empty payload"]};
  var data = {channels: {}};
  var lowest = {};
  var pos = 0;
  while (pos < bytes.length) {
    if (pos + 2 > bytes.length) return {errors: ["LPP item header cut off at offset " + pos]};
    var channel = bytes[pos], type = bytes[pos + 1], t = LPP_TYPES[type];
    if (t === undefined) return {errors: ["unknown LPP type " + type + " on channel " + channel]};
    if (pos + 2 + t[1] > bytes.length) return {errors: ["LPP " + t[0] + " on channel " + channel + " cut off"]};
    var v = value(bytes, pos + 2, t);
    var ch = data.channels[channel] || (data.channels[channel] = {});
    if (!(t[0] in ch)) ch[t[0]] = v;
    if (!(t[0] in lowest) || channel < lowest[t[0]]) {
      lowest[t[0]] = channel;
      data[t[0]] = v;
    }
    pos += 2 + t[1];
  }
  return {data: data, warnings: [], errors: []};
}
