"""The JavaScript front (front/worker.js, ADR 0020) picks the tenant the Python passthrough
(`dotdo.worker`) picks, and refuses the hosts it refuses with the same answer: checked on
the hosts of the passthrough's own tests and on seeded random ones, each as the URL parser
(Node's, WHATWG as workerd's) hands it over to either."""

from __future__ import annotations

import json
import random
import subprocess
from typing import Any
from urllib.parse import urlsplit

from dotdo.worker import InvalidTenant, tenant_from_host
from tests.runtime import ROOT

# Runs in Node: each raw URL parsed as the runtime parses a request's, then the front's rule.
DRIVER = """
import { readFileSync } from "node:fs";
import { tenantFromHost, invalidTenantBody } from "./front/worker.js";
const out = JSON.parse(readFileSync(0, "utf8")).map((raw) => {
  let url;
  try { url = new URL(raw); } catch { return null; }
  const found = tenantFromHost(url.hostname);
  return found.invalid === undefined
    ? { href: url.href, tenant: found.tenant }
    : { href: url.href, body: invalidTenantBody(found.invalid) };
});
process.stdout.write(JSON.stringify(out));
"""

FIXED = [
    "acme.api.example.com",
    "acme.localhost",
    "Acme.Example.com",
    "a-1.example.com.",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "x" * 63 + ".example.com",
    "x" * 64 + ".example.com",
    "a_b.example.com",
    ".example.com",
    "a..b",
    "0x7f.1",
    "127.1",
    "[2001:db8::1]",
    "b\u00fccher.example.com",
    "a'b.example.com",
    "a\"b'c.example.com",
    "xn--bcher-kva.example.com",
    "-a.example.com",
    "a-.example.com",
    "-.example.com",
]
ALPHABET = "abcxyz019-_ABCZ'\"!$&()*+,;=~`\u00e9\u00fc\u4e2d"


def random_host(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.1:
        return ".".join(
            str(rng.choice([0, 1, 10, 127, 255, 256, 999, 0x7F])) for _ in range(rng.randint(1, 4))
        )
    if kind < 0.15:
        return f"[{rng.choice(['::1', '::', 'fe80::1', '2001:db8::8:800:200c:417a', '::ffff:1.2.3.4'])}]"
    labels = []
    for _ in range(rng.randint(1, 4)):
        length = rng.choice([0, 1, 2, 5, 62, 63, 64, 70])
        labels.append("".join(rng.choice(ALPHABET) for _ in range(length)))
    return ".".join(labels) + ("." if rng.random() < 0.2 else "")


def front_answers(urls: list[str]) -> list[Any]:
    result = subprocess.run(
        ["node", "--input-type=module", "-e", DRIVER],
        input=json.dumps(urls), cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    answers: list[Any] = json.loads(result.stdout)
    return answers


def passthrough_answer(href: str) -> dict[str, Any]:
    """What `forward_to_tenant` decides for a request to `href`."""
    try:
        return {"tenant": tenant_from_host(urlsplit(href).hostname or "")}
    except InvalidTenant as error:
        return {"body": error.to_dict()}


def test_the_front_picks_and_refuses_tenants_as_the_passthrough_does() -> None:
    rng = random.Random(20)
    hosts = FIXED + [random_host(rng) for _ in range(3000)]
    urls = [f"http://{host}/state/k?x=1" for host in hosts]
    answers = front_answers(urls)
    compared = 0
    for url, answer in zip(urls, answers, strict=True):
        if answer is None:  # not a URL the runtime would pass on either
            continue
        href = answer.pop("href")
        assert answer == passthrough_answer(href), (url, href)
        compared += 1
    assert compared > 2000
    kinds = {next(iter(answer)) for answer in answers if answer is not None}
    assert kinds == {"tenant", "body"}  # both outcomes were exercised
