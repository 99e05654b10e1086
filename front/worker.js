// dotdo's passthrough in JavaScript: each tenant subdomain to its own Durable Object, with
// no Python started per request. An opt-in (ADR 0020): deployed as its own Worker, bound to
// the Python Worker's classes by `script_name` (scripts/front.mjs generates its wrangler
// config from wrangler.toml). The rules are those of `dotdo.worker.tenant_from_host` and
// `forward_to_tenant`, and tests/unit/test_front_worker.py holds the two to the same answers:
//
//   acme.api.example.com -> acme, acme.localhost -> acme; a bare name or an IP -> default;
//   a first label that is not a host name label (1-63 of a-z 0-9 -, starting and ending with
//   a letter or digit; RFC 1123) -> 400 invalid_tenant.
//
// Its own answers (that 400, the 503 object_unavailable) carry the CORS headers the object's
// answers carry, by the same policy (`dotdo.core.middleware.cors`, from ALLOWED_ORIGINS and
// ENVIRONMENT), preflights included.

const DEFAULT_TENANT = "default";
const TENANT = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^[0-9]+(\.[0-9]+){3}$/;
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;
const CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const CORS_HEADERS = "authorization, content-type, if-match, if-none-match, x-capability";
const CORS_EXPOSE = "etag, retry-after";
const LOCAL_HOSTS = /^(localhost|127\.0\.0\.1|\[::1\]|[a-z0-9-]+(\.[a-z0-9-]+)*\.localhost)$/;

/** Python's repr() of a string of printable ASCII (all a URL's host can hold). */
function pythonRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  return quote + text.replaceAll("\\", "\\\\").replaceAll(quote, `\\${quote}`) + quote;
}

/**
 * The tenant a request's host name addresses (`new URL(...).hostname`, which the URL parser
 * has already lowercased, turned into punycode and, for an IP address, into its canonical
 * form), or an `{invalid}` label.
 */
export function tenantFromHost(hostname) {
  const host = hostname.trim().replace(/\.+$/, "").toLowerCase();
  if (!host || host.startsWith("[") || IPV4.test(host)) return { tenant: DEFAULT_TENANT };
  const labels = host.split(".");
  if (labels.length < 2) return { tenant: DEFAULT_TENANT };
  const tenant = labels[0];
  if (!TENANT.test(tenant)) return { invalid: tenant };
  return { tenant };
}

/**
 * The host name of a request's URL, as Python's `urlsplit(url).hostname` gives it (the
 * passthrough's reading). `new URL` refuses some host names a request can carry, such as an
 * `xn--` label that is not valid punycode (`xn--acme`): read from the authority as written
 * then (without user info and port, lowercased), never a 500 for the client's host name.
 */
export function hostnameOf(url) {
  try {
    return new URL(url).hostname;
  } catch {
    const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1] ?? "";
    const host = authority.slice(authority.lastIndexOf("@") + 1);
    const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
    return name.toLowerCase();
  }
}

/** The 400 answer to an invalid tenant, as `dotdo.errors.InvalidTenant.to_dict()` words it. */
export function invalidTenantBody(label) {
  const message =
    `Invalid tenant ${pythonRepr(label)}: ` +
    "use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit";
  return { error: { code: "invalid_tenant", message } };
}

/** The 503 answer when a tenant's object failed as a whole, as `object_unavailable_body` words it. */
export function objectUnavailableBody(tenant, codeFailed = false) {
  const message = codeFailed
    ? `The object of tenant ${pythonRepr(tenant)} failed: its code raised an exception before it ` +
      "answered (its constructor, say); a retry most likely fails the same way until the code is fixed"
    : `The object of tenant ${pythonRepr(tenant)} did not answer (it was reset or is overloaded); ` +
      "the request may or may not have taken effect: retry if it is safe to";
  return { error: { code: "object_unavailable", message } };
}

// Whether an object's failure is a Python exception of its code (Pyodide words one as its
// traceback), not the runtime's reset or overload: `forward_to_tenant`'s `_code_failed`.
export function codeFailed(error) {
  return String(error?.message ?? error).includes("Traceback (most recent call last):");
}

/** The CORS policy `CorsPolicy.from_env` reads from `env` (ALLOWED_ORIGINS, ENVIRONMENT). */
export function corsPolicy(env) {
  const text = (name) => (typeof env?.[name] === "string" ? env[name] : "");
  const entries = text("ALLOWED_ORIGINS")
    .split(",")
    .map((o) => o.trim().replace(/\/+$/, ""))
    .filter((o) => o);
  return {
    origins: new Set(entries.filter((o) => o !== "*").map((o) => o.toLowerCase())),
    anyOrigin: entries.includes("*"),
    allowLocalhost: text("ENVIRONMENT").trim().toLowerCase() === "development",
  };
}

/** An origin's scheme and host name as Python's `urlsplit` reads them (`CorsPolicy.allows`). */
function originParts(origin) {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(origin);
  if (!match) return { scheme: "", hostname: "" };
  const rest = match[2];
  const authority = rest.startsWith("//") ? /^\/\/([^/?#]*)/.exec(rest)[1] : "";
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  const hostname = host.includes("[") ? host.split("[")[1].split("]")[0] : host.split(":")[0];
  return { scheme: match[1].toLowerCase(), hostname: hostname.toLowerCase() };
}

function corsAllows(policy, origin) {
  const lower = origin.toLowerCase();
  if (policy.anyOrigin || policy.origins.has(lower)) return true;
  if (!policy.allowLocalhost) return false;
  const { scheme, hostname } = originParts(lower);
  return (scheme === "http" || scheme === "https") && LOCAL_HOSTS.test(hostname);
}

function allowOrigin(policy, origin, headers) {
  if (policy.anyOrigin && !policy.origins.has(origin.toLowerCase())) {
    headers["access-control-allow-origin"] = "*"; // a wildcard answer never goes with credentials
  } else {
    headers["access-control-allow-origin"] = origin;
    headers["access-control-allow-credentials"] = "true";
  }
}

/**
 * The passthrough's own answer `{status, body, headers}` to a request (`method` and its
 * `origin`, `access-control-request-method` and `-headers`, null when absent) with the CORS of
 * the object's answers, as `dotdo.core.middleware.cors` gives it: a preflight answered 204 (or
 * 403 cors_origin_denied), the allow-origin headers for an allowed origin, Vary: Origin always.
 */
export function corsAnswer(policy, request, answer) {
  const { method, origin, requestMethod, requestHeaders } = request;
  if (method === "OPTIONS" && requestMethod) {
    if (!origin || !corsAllows(policy, origin)) {
      const message = `Origin ${origin ? pythonRepr(origin) : "None"} is not allowed`;
      return {
        status: 403,
        body: JSON.stringify({ error: { code: "cors_origin_denied", message } }),
        headers: { "content-type": "application/json; charset=utf-8", vary: "Origin" },
      };
    }
    const headers = {};
    allowOrigin(policy, origin, headers);
    headers["access-control-allow-methods"] = CORS_METHODS;
    headers["access-control-allow-headers"] = requestHeaders || CORS_HEADERS;
    headers["access-control-max-age"] = "600";
    headers.vary = "Origin";
    return { status: 204, body: null, headers };
  }
  const headers = { ...answer.headers };
  if (origin && corsAllows(policy, origin)) {
    allowOrigin(policy, origin, headers);
    headers["access-control-expose-headers"] = CORS_EXPOSE;
  }
  headers.vary = "Origin";
  return { status: answer.status, body: answer.body, headers };
}

/** `corsAnswer` of a request as the runtime's Response. */
function ownAnswer(request, env, status, body, headers) {
  const answer = corsAnswer(
    corsPolicy(env),
    {
      method: request.method,
      origin: request.headers.get("origin"),
      requestMethod: request.headers.get("access-control-request-method"),
      requestHeaders: request.headers.get("access-control-request-headers"),
    },
    { status, body, headers },
  );
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** Read and drop a body nobody will use, so the connection stays usable (core/durable.py's rule). */
async function discardBody(request) {
  if (request.body === null) return;
  const declared = request.headers.get("content-length");
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) <= MAX_DRAIN_BYTES) {
    await request.arrayBuffer();
    return;
  }
  const reader = request.body.getReader();
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    seen += value.byteLength;
    if (seen > MAX_DRAIN_BYTES) {
      await reader.cancel();
      return;
    }
  }
}

export default {
  async fetch(request, env) {
    const found = tenantFromHost(hostnameOf(request.url));
    if (found.invalid !== undefined) {
      await discardBody(request).catch(() => {});
      const body = JSON.stringify(invalidTenantBody(found.invalid));
      return ownAnswer(request, env, 400, body, { "content-type": "application/json" });
    }
    const namespace = env.DOTDO;
    try {
      return await namespace.get(namespace.idFromName(found.tenant)).fetch(request);
    } catch (error) {
      // The object failed as a whole (reset, overloaded, or its code raised before it
      // answered): `forward_to_tenant`'s 503, with Retry-After unless a retry fails the same.
      const failed = codeFailed(error);
      const tenant = pythonRepr(found.tenant);
      if (failed) console.error(`the object of tenant ${tenant} failed with an exception of its code: ${error}`);
      else console.warn(`the object of tenant ${tenant} did not answer: ${error}`);
      const headers = { "content-type": "application/json" };
      if (!failed) headers["retry-after"] = "1";
      return ownAnswer(request, env, 503, JSON.stringify(objectUnavailableBody(found.tenant, failed)), headers);
    }
  },
};
