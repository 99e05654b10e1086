// The desk from JavaScript with the npm `capnweb` client (`npm install capnweb`), over one
// HTTP batch: open a ticket, then list the urgent open ones, in a single round trip.
//
//   node clients/capnweb.mjs http://127.0.0.1:8787/@acme/capnweb
//
// Locally, `/@acme/` names the tenant (Node does not resolve acme.localhost); deployed, use
// the tenant's own host: https://acme.example.com/capnweb. The WebSocket session
// (newWebSocketRpcSession) needs Node 22, or the `ws` package as globalThis.WebSocket on Node 20.
import { newHttpBatchRpcSession } from "capnweb";

const [url] = process.argv.slice(2);
const desk = newHttpBatchRpcSession(url);
const [opened, urgent] = await Promise.all([
  desk.open_ticket("Printer on fire", "ada@example.com", "urgent"),
  desk.open_tickets("urgent"),
]);
console.log(JSON.stringify({ opened, urgent }));
