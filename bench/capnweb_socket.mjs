// Sequential Cap'n Web calls over one WebSocket, with the npm `capnweb` client.
//
//   ./scripts/dev --port 8811 &           # the app on the local runtime
//   node bench/capnweb_socket.mjs http://cb1.localhost:8811/capnweb 95
//
// Each call is a push, a pull and a release; the app's objects allow a caller 100 calls
// per 10 s over its sockets, so keep N under that (or run with --var RATE_LIMIT_MESSAGES=off).
import { newWebSocketRpcSession } from "../tests/node/capnweb_setup.mjs";

const [url, count = "95"] = process.argv.slice(2);
const calls = Number(count);
const api = newWebSocketRpcSession(new WebSocket(url.replace(/^http/, "ws")));
await api.get("warm-up");
const started = performance.now();
for (let i = 0; i < calls; i++) await api.get("k");
const elapsed = performance.now() - started;
console.log(JSON.stringify({ calls, ms_per_call: +(elapsed / calls).toFixed(3) }));
process.exit(0);
