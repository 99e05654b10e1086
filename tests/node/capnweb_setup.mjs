// What both Cap'n Web scripts need: tenants on loopback, a WebSocket on Node 20, the
// npm `capnweb` client, and results made printable as JSON.
import dns from "node:dns";
import { createRequire } from "node:module";

// Tenants are subdomains of localhost, which Node does not resolve: send them to loopback.
const realLookup = dns.lookup;
dns.lookup = (host, options, callback) =>
  host.endsWith(".localhost") ? realLookup("127.0.0.1", options, callback) : realLookup(host, options, callback);

const require = createRequire(new URL("../../package.json", import.meta.url));
globalThis.WebSocket ??= require("ws"); // Node 20 has no WebSocket of its own
export const { newHttpBatchRpcSession, newWebSocketRpcSession } = await import(require.resolve("capnweb"));

export const settle = (results) =>
  results.map((r) => (r.status === "fulfilled" ? { value: r.value } : { error: r.reason.message, code: r.reason.code }));
