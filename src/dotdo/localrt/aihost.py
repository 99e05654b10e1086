"""The local runtime's Workers AI stand-in: a small HTTP server on the developer's machine
that answers the `AI` binding's `run(model, inputs)` for embedding models, offline.

    python aihost.py        # prints {"port": N} on its first line, then serves 127.0.0.1:N

`POST /run` with `{"model", "inputs"}`: inputs `{"text": str | [str, ...]}` are embedded
by WordLlama (the `wordllama` package's wheel ships its 256-dimension `l2_supercat`
weights and tokenizer: a real model, no download) and answered as Workers AI's embedding
models answer, `{"shape": [n, 256], "data": [[...], ...]}`, unit length (as BGE's are).
Every model name is served by that one model; the dimensions differ from the real
model's, which is why vectors record their model. Generation has no offline model: the
answer is a 400 saying so (the object's 503 then says what to set: `AI_BASE_URL` and a
model its server serves). Errors are `{"error": message}`.

Standalone on purpose (no dotdo import): `server.mjs` starts it with the Python that runs
the dotdo command, as a child in its process group, so it ends with the runtime.
Install the model with the `ai-local` extra: `pip install 'dotdo[ai-local]'`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

logger = logging.getLogger("dotdo.localrt.ai")

MAX_TEXTS = 100
_model: Any = None
_loading = threading.Lock()


# Refusals are plain exceptions (this script imports nothing of dotdo): ValueError is the
# caller's mistake (400), LookupError a model this machine lacks (503).


def load_model() -> Any:
    """WordLlama's inference object, from the files its wheel ships (loaded once; requests
    are served a thread each, so the first ones wait for one load)."""
    global _model
    with _loading:
        if _model is None:
            _model = _load()
    return _model


def _load() -> Any:
    try:
        import wordllama  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from safetensors import safe_open  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from wordllama import WordLlama  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from wordllama.inference import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            WordLlamaInference,
        )
    except ImportError as error:
        raise LookupError(
            "the local AI binding needs its model: pip install 'dotdo[ai-local]' (wordllama)"
        ) from error
    root = Path(wordllama.__file__).parent
    # WordLlama.load() looks for the tokenizer under tokenizer/, while the wheel ships it
    # under tokenizers/, and then tries to download it: load the shipped files directly.
    tokenizer = WordLlama.load_tokenizer(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
    with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np") as weights:
        embedding = weights.get_tensor("embedding.weight")
    return WordLlamaInference(embedding, tokenizer)


def answer(model: Any, inputs: Any) -> dict[str, Any]:
    """Workers AI's answer to `run(model, inputs)`; ValueError for what it cannot answer."""
    if not isinstance(model, str) or not model:
        raise ValueError("model is a model name")
    if not isinstance(inputs, dict):
        raise ValueError("inputs is an object")
    if "text" not in inputs:
        raise ValueError(
            # What to change instead (AI_BASE_URL, a model of its server) is the object's to
            # say: only it knows whether AI_BASE_URL is set (dotdo/full/ai/service.py).
            f"{model}: the local AI binding has no generative model offline; it embeds `text` only"
        )
    texts = inputs["text"]
    texts = [texts] if isinstance(texts, str) else texts
    if (
        not isinstance(texts, list)
        or not 1 <= len(texts) <= MAX_TEXTS
        or not all(isinstance(t, str) for t in texts)
    ):
        raise ValueError(f"text is a string or a list of 1-{MAX_TEXTS} strings")
    vectors = load_model().embed(texts, norm=True)
    data = [[float(x) for x in row] for row in vectors]
    return {"shape": [len(data), len(data[0])], "data": data}


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps the connection open for the next request: workerd pools connections,
    # and an HTTP/1.0 server closing one under it showed as "Network connection lost".
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        try:
            if self.path != "/run":
                raise ValueError(f"no route {self.path}: POST /run")
            length = int(self.headers.get("content-length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"null")
            except ValueError as error:
                raise ValueError("the body is not JSON") from error
            if not isinstance(request, dict):
                raise ValueError('the body is {"model", "inputs"}')
            status, body = 200, answer(request.get("model"), request.get("inputs"))
        except ValueError as error:
            status, body = 400, {"error": str(error)}
        except LookupError as error:
            status, body = 503, {"error": str(error)}
        except Exception as error:  # the model itself failed: say so rather than hang up
            logger.exception("local AI binding failed")
            status, body = 500, {"error": f"the local AI binding failed: {error}"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


class _Server(ThreadingHTTPServer):
    # A thread a request (host-side CPython, not Pyodide): every object of the runtime may
    # embed at once, and one slow batch must not leave the others' connections unanswered.
    request_queue_size = 64
    daemon_threads = True


PORT_CHANNEL_FD = 3
"""The pipe the runtime (`js/server.mjs`) opens as this process's fd 3: the one line
`{"port": n}` it waits for. A channel of its own, so stdout and stderr carry only what the
process logs."""


def main() -> None:
    """Serve on a free port of 127.0.0.1, telling the runtime which on `PORT_CHANNEL_FD`."""
    logging.basicConfig(level=logging.WARNING, format="dotdo local AI: %(message)s")
    server = _Server(("127.0.0.1", 0), _Handler)
    with os.fdopen(PORT_CHANNEL_FD, "w") as channel:
        channel.write(json.dumps({"port": server.server_address[1]}) + "\n")
    # Ctrl-C reaches the whole foreground group: end quietly along with `dotdo dev`.
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
