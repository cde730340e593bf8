// Hostile: recurses without end.
function down(n) { return down(n + 1) + 1; }
function decodeUplink(input) { return {data: {n: down(0)}}; }
