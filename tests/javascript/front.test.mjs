// The JavaScript front's forwarding: a tenant's object answers for it, and one that fails as a
// whole (reset, overloaded) is the JSON 503 `forward_to_tenant` answers, not the runtime's 500.
import assert from "node:assert/strict";
import test from "node:test";

import front from "../../front/worker.js";

function binding(fetch) {
  return { DOTDO: { idFromName: (name) => `id:${name}`, get: (id) => ({ fetch: (request) => fetch(id, request) }) } };
}

test("a tenant's object answers for it", async () => {
  const answer = await front.fetch(
    new Request("http://acme.localhost/health"),
    binding(async (id) => new Response(id)),
  );
  assert.equal(await answer.text(), "id:acme");
});

test("an object that fails as a whole is a 503 that says to retry", async () => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const answer = await front.fetch(
      new Request("http://acme.localhost/query", { method: "POST", body: "{}" }),
      binding(async () => {
        throw new Error("Durable Object reset because its isolate exceeded its memory limit");
      }),
    );
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get("retry-after"), "1");
    const { error } = await answer.json();
    assert.equal(error.code, "object_unavailable");
    assert.match(error.message, /'acme' did not answer/);
  } finally {
    console.warn = warn;
  }
});

test("an object whose code raised is a 503 that does not say to retry", async () => {
  const error = console.error;
  console.error = () => {};
  try {
    const answer = await front.fetch(
      new Request("http://acme.localhost/query"),
      binding(async () => {
        throw new Error("Traceback (most recent call last):\nValueError: Route patterns start with '/'");
      }),
    );
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get("retry-after"), null);
    const body = await answer.json();
    assert.match(body.error.message, /its code raised an exception/);
    assert.doesNotMatch(body.error.message, /Route patterns|retry if/);
  } finally {
    console.error = error;
  }
});
