"""`POST /query` and the `query` RPC bind named parameters by name, number every parameter
as SQLite does (integers cast in their own place), and refuse a wrong count with a 400
naming it, through the runtime's SQLite."""

from __future__ import annotations

from tests.runtime import LocalRuntime


def test_named_parameters_bind_by_name_and_integers_in_their_own_place(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.post("/Owner", json={"$id": "o1", "n": 5}).status_code == 201
        sql = (
            "SELECT id, :t AS t FROM things WHERE type = :t AND id = @id AND json_extract(data, '$.n') >= :n"
        )
        by_name = c.post("/query", json={"sql": sql, "params": {"t": "Owner", "id": "o1", "n": 5}})
        assert by_name.status_code == 200, by_name.text
        assert by_name.json()["rows"] == [{"id": "o1", "t": "Owner"}]
        rpc = c.rpc("query", sql, {"t": "Owner", "id": "o1", "n": 6})
        assert rpc["rows"] == []
        # `#id` and `$a::b` are one parameter each to SQLite: the integer after them is cast
        # where it stands (it was cast into `$a::b`, "unrecognized token", or bound to `#id`)
        for name in ("#id", "$a::b"):
            text = f"SELECT count(*) AS c FROM things WHERE id = {name} AND json_extract(data, '$.n') >= ?"
            counted = c.post("/query", json={"sql": text, "params": ["o1", 5]})
            assert counted.status_code == 200, (name, counted.text)
            assert counted.json()["rows"] == [{"c": 1}], name


def test_a_wrong_count_or_name_is_a_400_naming_it(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        cases = [
            (["Owner"], "The query takes 2 parameters (:t, :id); params has 1"),
            ({"t": "Owner"}, "params has no value for 'id'"),
            ({"t": "Owner", "id": "o1", "tid": 1}, "params names 'tid', which the query does not use"),
        ]
        for params, message in cases:
            sql = "SELECT id FROM things WHERE type = :t AND id = :id"
            answer = c.post("/query", json={"sql": sql, "params": params})
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "invalid_params"
            assert message in answer.json()["error"]["message"]


def test_a_column_named_like_a_javascript_object_property_is_answered(runtime: LocalRuntime) -> None:
    """The rows came from the runtime as JavaScript objects, which the Workers SDK converts:
    a `constructor` column was a 500 and a `__proto__` column was left out."""
    with runtime.client() as c:
        sql = "SELECT 1 AS constructor, 2 AS __proto__, 3 AS toString, x'00ff' AS b, 9007199254740993 AS big"
        answer = c.post("/query", json={"sql": sql})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"] == [
            {
                "constructor": 1,
                "__proto__": 2,
                "toString": 3,
                "b": {"$bytes": "AP8="},
                "big": {"$bigint": "9007199254740993"},
            }
        ]
