"""The local runtime's offline AI binding answers as Workers AI's embedding models do,
with the real WordLlama model its wheel ships (the `ai-local` extra), and refuses what it
cannot answer with a message saying why."""

from __future__ import annotations

import math

import pytest

from dotdo.localrt import aihost

pytest.importorskip("wordllama", reason="the ai-local extra is not installed")


def test_texts_are_embedded_in_workers_ai_shape_as_unit_vectors() -> None:
    result = aihost.answer(
        "@cf/baai/bge-small-en-v1.5", {"text": ["fresh bread", "sourdough loaf", "car engine"]}
    )
    assert result["shape"] == [3, 256] and len(result["data"]) == 3
    assert all(math.isclose(math.hypot(*row), 1.0, rel_tol=1e-4) for row in result["data"])
    bread, loaf, engine = result["data"]

    def dot(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert dot(bread, loaf) > dot(bread, engine)  # a real model: meaning, not spelling
    assert aihost.answer("any-model", {"text": "one"})["shape"] == [1, 256]


@pytest.mark.parametrize(
    ("model", "inputs", "says"),
    [
        ("@cf/meta/llama-3.1-8b-instruct", {"prompt": "hi"}, "no generative model offline"),
        ("m", {"text": []}, "1-100 strings"),
        ("m", {"text": [1]}, "1-100 strings"),
        ("m", ["text"], "inputs is an object"),
        ("", {"text": "x"}, "model"),
    ],
)
def test_what_it_cannot_answer_is_refused_saying_why(model: str, inputs: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        aihost.answer(model, inputs)
