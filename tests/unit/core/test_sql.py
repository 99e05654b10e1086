"""The SQL facade's bindings and rows, against SQLite behind a stand-in for the runtime's
conversions (`tests/storage.py`)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import BadRequest
from dotdo.core.sql import Sql, WritesNeeded, bind_parameters
from dotdo.semantic.where import compile_where, matches
from tests.storage import Storage, split_statements

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BOUNDARIES = [INT64_MIN, -(2**53) - 1, -(2**53), 2**53 - 1, 2**53, 2**53 + 1, INT64_MAX]


def facade() -> Sql:
    return Sql(Storage())


@pytest.mark.parametrize("number", BOUNDARIES)
def test_integers_bind_exactly_and_as_integer(number: int) -> None:
    sql = facade()
    row = sql.exec(
        "SELECT typeof(?) AS t, CAST(? AS TEXT) AS v, ? = ? AS same", number, number, number, number
    )
    assert row == [{"t": "integer", "v": str(number), "same": 1}]
    sql.run("CREATE TABLE t (n INTEGER)")
    sql.run("INSERT INTO t VALUES (?)", number)
    assert sql.exec("SELECT count(*) AS c FROM t WHERE n = ?", number) == [{"c": 1}]
    assert sql.exec("SELECT count(*) AS c FROM t WHERE n = ?", number - 1 if number > 0 else number + 1) == [
        {"c": 0}
    ]


@pytest.mark.parametrize("number", [INT64_MAX + 1, INT64_MIN - 1, 10**30])
def test_integers_beyond_64_bits_are_refused_naming_the_range(number: int) -> None:
    with pytest.raises(BadRequest) as refused:
        facade().exec("SELECT ? AS v", number)
    assert refused.value.code == "invalid_value"
    assert "-9223372036854775808 to 9223372036854775807" in refused.value.message


def test_bools_bind_as_integers() -> None:
    assert facade().exec("SELECT ? AS t, ? AS f, typeof(?) AS k", True, False, True) == [
        {"t": 1, "f": 0, "k": "integer"}
    ]


@pytest.mark.parametrize("number", BOUNDARIES)
def test_exact_rows_give_integers_back_exactly(number: int) -> None:
    rows, written = facade().exact_rows(
        "SELECT ? AS n, 1.5 AS r, 'i7' AS s, '' AS e, x'01ff' AS b, NULL AS z, ? AS n", number, 3, limit=10
    )
    assert rows == [{"n": number, "r": 1.5, "s": "i7", "e": "", "b": b"\x01\xff", "z": None, "n:1": 3}]
    assert type(rows[0]["n"]) is int and written == 0


def test_exact_rows_without_big_values_run_once() -> None:
    storage = Storage()
    sql = Sql(storage)
    rows, _ = sql.exact_rows("SELECT 1 AS a, 2.5 AS b, x'00' AS c", limit=5)
    assert rows == [{"a": 1, "b": 2.5, "c": b"\x00"}]
    assert len(storage.sql.statements) == 1
    big, _ = sql.exact_rows("SELECT 9007199254740993 AS a, 1e300 AS b, -1e300 AS c", limit=5)
    assert big == [{"a": 9007199254740993, "b": 1e300, "c": -1e300}]


def test_exact_rows_keep_the_limit() -> None:
    rows, _ = facade().exact_rows(
        "SELECT value + 9007199254740990 AS v FROM json_each('[1,2,3,4,5]') ORDER BY value", limit=3
    )
    assert [r["v"] for r in rows] == [9007199254740991, 9007199254740992, 9007199254740993]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT ?, ?", "SELECT (+CAST(? AS INTEGER)), ?"),
        (
            "SELECT '?', \"?\", [?], `?`, ? -- ?\n",
            "SELECT '?', \"?\", [?], `?`, (+CAST(? AS INTEGER)) -- ?\n",
        ),
        ("SELECT /* ? */ ?2, ?1, ?", "SELECT /* ? */ ?2, (+CAST(?1 AS INTEGER)), ?"),
        ("SELECT ?2, ?", "SELECT ?2, ?"),  # the bare ? is number 3
        ("SELECT :a, :b, :a", "SELECT (+CAST(:a AS INTEGER)), :b, (+CAST(:a AS INTEGER))"),
        ("SELECT a$b, $x", "SELECT a$b, (+CAST($x AS INTEGER))"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', (+CAST(? AS INTEGER))"),
    ],
)
def test_only_the_integer_parameters_are_cast(query: str, expected: str) -> None:
    rewritten, bound = bind_parameters(query, [1, "x", "y"])
    assert rewritten == expected and bound == ["1", "x", "y"]


def test_statements_without_integers_are_untouched() -> None:
    assert bind_parameters("SELECT ?, ?", ["a", 1.5]) == ("SELECT ?, ?", ["a", 1.5])


@settings(max_examples=300, derandomize=True)
@given(
    st.one_of(
        st.integers(min_value=-(2**64), max_value=2**64),
        st.sampled_from([*BOUNDARIES, INT64_MAX + 1, INT64_MIN - 1]),
        st.integers(min_value=-(2**53) - 4, max_value=-(2**53) + 4),
        st.integers(min_value=2**53 - 4, max_value=2**53 + 4),
    )
)
def test_every_integer_crosses_exactly_or_is_refused(number: int) -> None:
    sql = facade()
    sql.run("CREATE TABLE things (data TEXT)")
    try:
        sql.run("INSERT INTO things VALUES (json_object('n', ?))", number)
    except BadRequest as refused:
        assert not INT64_MIN <= number <= INT64_MAX
        assert refused.code == "invalid_value"
        return
    assert INT64_MIN <= number <= INT64_MAX
    found = sql.exec("SELECT count(*) AS c FROM things WHERE json_extract(data, '$.n') = ?", number)
    assert found == [{"c": 1}]
    rows, _ = sql.exact_rows("SELECT json_extract(data, '$.n') AS n, ? AS p FROM things", number, limit=2)
    assert rows == [{"n": number, "p": number}]


def test_an_integer_parameter_keeps_the_index_and_the_affinity_rules() -> None:
    sql = facade()
    sql.run("CREATE TABLE things (type TEXT, data TEXT, key TEXT)")
    sql.run("CREATE INDEX by_age ON things (type, json_extract(data, '$.age'))")
    plan = sql.exec(
        "EXPLAIN QUERY PLAN SELECT 1 FROM things WHERE type = ? AND json_extract(data, '$.age') > ?", "C", 30
    )
    assert any("by_age (type=? AND <expr>>?)" in row["detail"] for row in plan), plan
    sql.run("INSERT INTO things VALUES ('C', '{}', '5')")
    # a TEXT column converts a bound INTEGER to text, as it would a value bound as INTEGER
    assert sql.exec("SELECT count(*) AS c FROM things WHERE key = ?", 5) == [{"c": 1}]


def test_where_operands_in_their_one_json_parameter_compare_exactly_and_keep_the_index() -> None:
    """A where clause binds all its operands as one JSON text (`:ops`) among the statement's
    `?` parameters: SQLite reads each integral operand as an exact INTEGER, an int bound
    after it still gets its own placeholder rewritten, and the expression index is used."""
    sql = facade()
    sql.run("CREATE TABLE things (id TEXT, type TEXT, data TEXT)")
    sql.run("CREATE INDEX by_n ON things (type, json_extract(data, '$.n'))")
    for i, number in enumerate(BOUNDARIES):
        sql.run(
            "INSERT INTO things VALUES (?, 'C', json_object('n', ?, 'tags', json_array(?)))",
            f"e{i}",
            number,
            number,
        )
    things = {f"e{i}": {"n": number, "tags": [number]} for i, number in enumerate(BOUNDARIES)}
    for number in BOUNDARIES:
        for clause in (
            {"n": number},
            {"n": {"$in": [number, 7]}},
            {"n": {"$gt": number}},
            {"n": {"$lte": number}},
            {"tags": {"$all": [number]}},
        ):
            pushed = compile_where(clause)
            assert pushed.residual is None and len(pushed.params) == 1
            statement = f"SELECT id FROM things WHERE type = ? AND {pushed.sql} ORDER BY id LIMIT ?"
            found = [row["id"] for row in sql.exec(statement, "C", *pushed.params, len(BOUNDARIES))]
            assert found == sorted(i for i, thing in things.items() if matches(thing, clause)), clause
            plan = sql.exec(f"EXPLAIN QUERY PLAN {statement}", "C", *pushed.params, len(BOUNDARIES))
            if "tags" not in clause:
                assert any("USING INDEX by_n (type=? AND <expr>" in row["detail"] for row in plan), plan


def test_rows_within_measures_in_sqlite_and_counts_what_fits() -> None:
    sql = facade()
    select = (
        "SELECT value AS n, printf('%.*c', value * 10, 'x') AS s, NULL AS z FROM json_each('[1,2,3,4,5]')"
    )
    # rows of 1+10, 1+20, 1+30, 1+40, 1+50 bytes: 11, 32, 63, 104, 155 in all
    assert sql.rows_within(select, limit=10, max_bytes=100) == (3, 5, 0)
    assert sql.rows_within(select, limit=10, max_bytes=155) == (5, 5, 0)
    assert sql.rows_within(select, limit=4, max_bytes=10**6) == (4, 4, 0)
    assert sql.rows_within(select, limit=10, max_bytes=5) == (0, 5, 0)
    assert sql.rows_within("SELECT x'0102' AS b, 'é' AS t", limit=10, max_bytes=10**6) == (1, 1, 0)


def test_rollback_hooks_run_last_registered_first() -> None:
    """Each hook puts back the state it was registered on: unwound newest first, the
    oldest one's state is what is left."""
    sql = facade()
    state = {"n": 0}
    undone: list[int] = []

    def step(n: int) -> None:
        before = state["n"]
        sql.on_rollback(lambda: (undone.append(n), state.update(n=before)))
        state["n"] = n

    def work() -> None:
        step(1)
        step(2)
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        sql.transaction(work)
    assert undone == [2, 1]
    assert state == {"n": 0}


class CountingStorage(Storage):
    """`ctx.storage` counting its `transactionSync` calls."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions = 0

    def transactionSync(self, callback: Any) -> Any:  # noqa: N802 - the runtime's name
        self.transactions += 1
        return super().transactionSync(callback)


def test_one_statement_runs_without_transaction_sync_and_joins_an_open_transaction() -> None:
    storage = CountingStorage()
    sql = Sql(storage)
    sql.run("CREATE TABLE t (k TEXT PRIMARY KEY)")
    seen: list[bool] = []

    def insert(key: str) -> int:
        seen.append(sql.in_transaction)
        return sql.run("INSERT INTO t (k) VALUES (?)", key)

    assert sql.one_statement(lambda: insert("a")) == 1
    assert storage.transactions == 0
    assert sql.transaction(lambda: [sql.one_statement(lambda: insert("b")), insert("c")]) == [1, 1]
    assert storage.transactions == 1
    assert seen == [True, True, True]
    assert not sql.in_transaction
    assert [r["k"] for r in sql.exec("SELECT k FROM t ORDER BY k")] == ["a", "b", "c"]


def test_one_statement_that_fails_changes_nothing_and_runs_the_rollback_hooks() -> None:
    sql = facade()
    sql.run("CREATE TABLE t (k TEXT PRIMARY KEY)")
    sql.run("INSERT INTO t (k) VALUES ('a'), ('c')")
    undone: list[str] = []

    def work() -> None:
        sql.on_rollback(lambda: undone.append("hook"))
        # Its second row collides: SQLite backs the whole statement out, 'b' included.
        sql.run("INSERT INTO t (k) VALUES ('b'), ('c')")

    with pytest.raises(sqlite3.IntegrityError):
        sql.one_statement(work)
    assert undone == ["hook"]
    assert [r["k"] for r in sql.exec("SELECT k FROM t ORDER BY k")] == ["a", "c"]
    sql.on_rollback(lambda: undone.append("outside"))  # no transaction now: never called
    assert sql.one_statement(lambda: sql.run("INSERT INTO t (k) VALUES ('b')")) == 1
    assert undone == ["hook"]


def test_one_statement_refuses_a_second_statement_before_it_runs() -> None:
    sql = facade()
    sql.run("CREATE TABLE t (k TEXT PRIMARY KEY)")

    def two() -> None:
        sql.run("INSERT INTO t (k) VALUES ('a')")
        sql.run("INSERT INTO t (k) VALUES ('b')")

    with pytest.raises(RuntimeError, match="second statement"):
        sql.one_statement(two)
    assert [r["k"] for r in sql.exec("SELECT k FROM t")] == ["a"]
    sql.run("INSERT INTO t (k) VALUES ('b')")  # the count ended with the call


def test_reads_only_runs_reads_without_transaction_sync_and_refuses_a_write_before_it_runs() -> None:
    storage = CountingStorage()
    sql = Sql(storage)
    sql.run("CREATE TABLE t (k TEXT PRIMARY KEY)")
    sql.run("INSERT INTO t (k) VALUES ('a')")
    undone: list[str] = []

    def reads() -> list[str]:
        sql.on_rollback(lambda: undone.append("reads"))
        rows = sql.exec("  select k FROM t")
        return [str(r["k"]) for r in rows] + [
            str(r["k"]) for r in sql.exact_rows("SELECT k FROM t", limit=5)[0]
        ]

    assert sql.reads_only(reads) == ["a", "a"]
    assert (storage.transactions, undone) == (0, [])

    def writes() -> None:
        sql.on_rollback(lambda: undone.append("writes"))
        sql.exec("SELECT k FROM t")
        sql.run("WITH n(k) AS (SELECT 'b') INSERT INTO t (k) SELECT k FROM n")

    with pytest.raises(WritesNeeded):
        sql.reads_only(writes)
    assert undone == ["writes"]
    assert not sql.in_transaction
    assert [r["k"] for r in sql.exec("SELECT k FROM t")] == ["a"]
    # Inside a transaction it joins it: the transaction guards the writes.
    assert sql.transaction(lambda: sql.reads_only(lambda: sql.run("INSERT INTO t (k) VALUES ('b')"))) == 1
    assert storage.transactions == 1


def test_a_bare_integer_parameter_keeps_the_column_name_the_caller_wrote() -> None:
    """The binding rewrites `?` for an int to `(+CAST(? AS INTEGER))`; a column named by a
    bare parameter showed the rewrite (`POST /query {"sql": "SELECT ?", "params": [1]}`)."""
    sql = Sql(Storage())
    rows, _ = sql.exact_rows("SELECT ?, ?2 AS named, 'x' AS s", 1, 2, limit=10)
    assert rows == [{"?": 1, "named": 2, "s": "x"}]
    rows, _ = sql.exact_rows("SELECT :n", 3, limit=10)
    assert rows == [{":n": 3}]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([1, "x"], {"?": 1, "?:1": "x"}),
        ([1, "x", 2], {"?": 1, "?:1": "x", "?:2": 2}),
        (["x", 1], {"?": "x", "?:1": 1}),
        ([1, 2, 3], {"?": 1, "?:1": 2, "?:2": 3}),
    ],
)
def test_two_bare_parameters_columns_stay_two(params: list[Any], expected: dict[str, Any]) -> None:
    """An integer's column, named by the rewrite, came back to `?` beside a string's `?`, and
    one of them was lost (`SELECT ?, ?` with `[1, "x"]` answered `{"?": "x"}`). They are named
    as SQLite names a subquery's columns, as without the rewrite."""
    rows, _ = Sql(Storage()).exact_rows("SELECT " + ", ".join("?" * len(params)), *params, limit=10)
    assert rows == [expected]


def test_measuring_a_result_of_100_columns_stays_within_sqlites_expression_depth() -> None:
    """workerd's SQLite refuses an expression nested past 100 (SQLITE_MAX_EXPR_DEPTH): the
    size of a row of 98 to 100 columns, summed as one `+` chain, was "Expression tree is
    too large"."""
    storage = Storage()
    storage.sql.db.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100)
    sql = Sql(storage)
    select = "SELECT " + ", ".join(f"{n} AS c{n}" for n in range(100))
    fitting, seen, _ = sql.rows_within(select, limit=5, max_bytes=10_000)
    assert (fitting, seen) == (1, 1)


def test_a_script_runs_its_statements_in_as_few_calls_as_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = Storage()
    sql = Sql(storage)
    script = [
        "CREATE TABLE t (a TEXT, b TEXT) -- a comment to the end of its line",
        "INSERT INTO t VALUES ('x;y', 'z')",  # a `;` in a literal
        "CREATE TRIGGER t_copy AFTER INSERT ON t BEGIN INSERT INTO u VALUES (new.a); END",
        "CREATE TABLE u (a TEXT)",
        "INSERT INTO t VALUES ('w', 'v')",
    ]
    assert sql.script(script) == 3  # two rows into t, one into u by the trigger
    assert len(storage.sql.statements) == 1
    assert sql.exec("SELECT a FROM t ORDER BY a") == [{"a": "w"}, {"a": "x;y"}]
    assert sql.exec("SELECT a FROM u") == [{"a": "w"}]
    monkeypatch.setattr("dotdo.core.sql.MAX_STATEMENT_BYTES", 60)
    sql.script([f"CREATE TABLE t{n} (a_long_column_name TEXT)" for n in range(5)])  # 42 bytes each
    assert len(storage.sql.statements) == 1 + 5 + 2  # and the two SELECTs
    assert sql.script([]) == 0 and len(storage.sql.statements) == 8


@pytest.mark.parametrize(
    ("text", "statements"),
    [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1;", ["SELECT 1"]),
        ("SELECT 1\n;\nSELECT ';'; ; SELECT 2", ["SELECT 1\n", "\nSELECT ';'", " SELECT 2"]),
        (
            "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; SELECT 3",
            ["CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END", " SELECT 3"],
        ),
        ("", []),
    ],
)
def test_a_text_splits_into_its_statements(text: str, statements: list[str]) -> None:
    assert split_statements(text) == statements


def test_an_async_transaction_work_is_refused_and_writes_nothing() -> None:
    """`async def work` handed to a transaction returned its coroutine unrun: nothing was
    written and the request answered as if it had been (a warning in the log at most)."""
    sql = facade()
    sql.run("CREATE TABLE t (n INTEGER)")

    async def work() -> None:
        sql.run("INSERT INTO t VALUES (1)")

    def joined() -> None:
        sql.run("INSERT INTO t VALUES (2)")
        sql.transaction(work)  # inside another: the outer one rolls back too

    for outer in (work, joined):
        with pytest.raises(TypeError, match="is async: a transaction's work is a plain function"):
            sql.transaction(outer)
    assert sql.exec("SELECT count(*) AS c FROM t") == [{"c": 0}]


@pytest.mark.parametrize("tiered", [False, True])
def test_an_async_thing_transaction_is_refused_and_writes_nothing(tiered: bool) -> None:
    from tests.inprocess import T0
    from tests.storage import Clock
    from tests.unit.storage.test_tiers import Node

    things = Node(Storage(), Clock(T0), tiered=tiered).things

    async def work() -> None:
        things.create("Pet", {"$id": "rex"})

    with pytest.raises(TypeError, match="is async"):
        things.transaction(work)
    assert things.get("Pet", "rex") is None
