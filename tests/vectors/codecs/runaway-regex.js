// Hostile: catastrophic backtracking, which QuickJS's regex engine runs without polling the
// interrupt handler. 2^24 steps: long past any time limit, yet it ends (tens of seconds at most)
// so that the abandoned engine thread does not spin for the rest of the test run.
function decodeUplink(input) {
  var s = new Array(25).join("a") + "b";
  return {data: {matched: /^(a+)+$/.test(s) ? 1 : 0}};
}
