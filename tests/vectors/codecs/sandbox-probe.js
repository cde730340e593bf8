// Reports which host facilities the sandbox offers: every one should be "undefined".
function decodeUplink(input) {
  var names = ["require", "process", "fetch", "XMLHttpRequest", "setTimeout", "setInterval",
               "std", "os", "scriptArgs", "print", "Deno", "Bun", "WebAssembly"];
  var offered = [];
  for (var i = 0; i < names.length; i++) {
    if (typeof globalThis[names[i]] !== "undefined") offered.push(names[i]);
  }
  console.log("console is allowed and goes nowhere");
  return {data: {offered: offered, count: offered.length}};
}
