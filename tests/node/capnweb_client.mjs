// Drives the real npm `capnweb` client against a dotdo object and prints one JSON
// line of results, for tests/integration/test_rpc_surfaces.py.
//
//   node tests/node/capnweb_client.mjs <http url of /capnweb> [token]
import { newHttpBatchRpcSession, newWebSocketRpcSession, settle } from "./capnweb_setup.mjs";

const [url, token] = process.argv.slice(2);
const endpoint = token ? `${url}?token=${encodeURIComponent(token)}` : url;
let requests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => {
  requests += 1;
  return realFetch(...args);
};
// bigints and byte arrays (Node hands bytes over as a Buffer, whose toJSON runs first) made printable
const replacer = (_, v) =>
  typeof v === "bigint" ? { bigint: v.toString() } : v?.type === "Buffer" && Array.isArray(v.data) ? { bytes: v.data } : v;

const api = newHttpBatchRpcSession(endpoint);
const batch = settle(
  await Promise.allSettled([
    api.echo("hello"),
    api.getUser("alice").getOrders().summarize(), // three calls, one round trip
    api.getUser("bob").name,
    api.echo([1, [2], { when: new Date(5) }, 12345678901234567890n, new Uint8Array([1, 2, 255])]),
    api.nope(),
    api.getUser("eve").fail(),
    api.getUser("dan").getOrders().items().map((order) => order.total), // .map() runs on the server
  ]),
);
const batchRequests = requests;

const socket = new WebSocket(endpoint.replace(/^http/, "ws"));
const ws = newWebSocketRpcSession(socket);
const user = ws.getUser("carol");
const overSocket = settle(await Promise.allSettled([user.greet("hey"), user.getOrders().summarize(), user.fail()]));
// 24 answers of 900 KB, 21.6 MB in all: past what a session holds unreleased (16 MiB), so
// this passes only because the client releases each answer as it resolves
let socketAnswers = 0;
for (let n = 0; n < 24; n += 1) {
  const [answer] = await Promise.allSettled([ws.echo("x".repeat(900_000))]);
  if (answer.value?.length === 900_000) socketAnswers += 1;
}
console.log(JSON.stringify({ batch, batchRequests, overSocket, socketAnswers }, replacer));
process.exit(0);
