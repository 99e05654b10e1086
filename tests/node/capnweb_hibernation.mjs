// One Cap'n Web WebSocket session across the object's hibernation, for
// tests/integration/test_hibernation.py: calls, then one JSON line; then it waits
// for a line on stdin (the test has seen the object rebuilt) and calls again on the
// same socket, and prints a second line.
//
//   node tests/node/capnweb_hibernation.mjs <http url of /capnweb>
import { createInterface } from "node:readline";
import { newWebSocketRpcSession, settle } from "./capnweb_setup.mjs";

const [url] = process.argv.slice(2);
const ws = newWebSocketRpcSession(new WebSocket(url.replace(/^http/, "ws")));
const user = ws.getUser("carol"); // a reference the object holds in memory
const before = settle(await Promise.allSettled([ws.echo("before"), user.greet("hey")]));
console.log(JSON.stringify({ before }));

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next();
const after = settle(await Promise.allSettled([ws.echo("after"), user.greet("again"), ws.getUser("dan").greet("hi")]));
console.log(JSON.stringify({ after }));
process.exit(0);
