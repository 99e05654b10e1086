// Runs operations through the real npm `capnweb` client as a JavaScript user writes
// them, one HTTP batch each, in order: a step [noun, id, op, args] is
// `api.Noun.op(...args)` (id null), `api.Noun(id).op(...args)`, or `api.op(...args)`
// (noun null). Names are camelCased (`find_first` -> `findFirst`). Prints one JSON
// line: each answer as {value} or {error, code}. For
// tests/integration/test_surface_agreement.py.
//
//   echo '{"steps": [["Ticket", null, "create", [{"$id": "t1"}]], ...]}' |
//     node tests/node/capnweb_nouns.mjs <http url of /capnweb>
import { text } from "node:stream/consumers";
import { newHttpBatchRpcSession, settle } from "./capnweb_setup.mjs";

const [url] = process.argv.slice(2);
const { steps } = JSON.parse(await text(process.stdin));
const camel = (name) => name.replace(/(?<=[a-z0-9])_([a-z])/g, (_, letter) => letter.toUpperCase());

const answers = [];
for (const [noun, id, op, args] of steps) {
  const api = newHttpBatchRpcSession(url);
  const receiver = noun === null ? api : id === null ? api[noun] : api[noun](id);
  answers.push(...settle(await Promise.allSettled([receiver[camel(op)](...args)])));
}
console.log(JSON.stringify(answers));
process.exit(0);
