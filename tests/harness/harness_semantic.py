"""A DOSemantic subclass whose test-only RPC methods drive the Python API from inside the object."""

import contextlib

from harness_lifetime import Lifetime

from dotdo import Component, Conflict, DOSemantic, HttpError, Migration, Noun, Verb, rpc
from dotdo.remote.marks import RpcTarget
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.store import SqliteThingStore


class Orders(RpcTarget):
    rpc_properties = frozenset({"owner"})
    rpc_read_methods = frozenset({"summarize", "items"})

    def __init__(self, owner: str, totals: list) -> None:
        self.owner = owner
        self._totals = totals

    def items(self) -> list:
        return [{"n": i, "total": t} for i, t in enumerate(self._totals)]

    def summarize(self) -> dict:
        return {"owner": self.owner, "count": len(self._totals), "sum": sum(self._totals)}

    def _secret(self) -> str:
        return "never reachable"


class Link(RpcTarget):
    """A chain of any length, for measuring pipelines: `chain().next().next()...value`."""

    rpc_properties = frozenset({"value"})
    rpc_read_methods = frozenset({"next"})

    def __init__(self, value: int) -> None:
        self.value = value

    def next(self) -> "Link":
        return Link(self.value + 1)


class User(RpcTarget):
    rpc_properties = frozenset({"name"})
    rpc_read_methods = frozenset({"get_orders", "greet"})

    def __init__(self, name: str) -> None:
        self.name = name

    def get_orders(self) -> Orders:
        return Orders(self.name, [3, 4, 5])

    def greet(self, greeting: str = "hello") -> str:
        return f"{greeting}, {self.name}"

    def fail(self) -> None:
        raise ValueError("internal detail that must not leak")


# An app's own table on its own version track (tests/integration/test_query_visibility.py).
NOTES = Component(
    "harness_notes",
    (
        Migration(1, ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",)),
        Migration(2, ("INSERT INTO notes (body) VALUES ('written once, by version 2')",)),
    ),
)


class HarnessSemantic(Lifetime, DOSemantic):
    declared_nouns = (Noun("Customer", indexes=("email", "age")), Noun("Person", plural="People"))
    declared_verbs = (Verb("run", past="ran"),)
    thing_cache_size = 4
    message_rate_limit = 1_000_000  # bench/rpc.py measures messages per second on this class
    request_rate_limit = 1_000_000  # and requests

    def migrations(self) -> list[Component]:
        return [*super().migrations(), NOTES]

    @rpc(scope="read")
    def raw_rows(self, sql: str) -> list:
        """Any SQL on the object's database, past the query API's checks (tests only)."""
        return self.sql.exec(sql)

    @rpc(scope="read")
    def get_user(self, name: str) -> User:
        return User(name)

    @rpc(scope="read")
    def chain(self) -> Link:
        return Link(1)

    @rpc(scope="read")
    def echo(self, value: object) -> object:
        return value

    @rpc
    def emit_event(self, event_type: str, data: object) -> str:
        """The application's own `self.emit`, from inside the object."""
        return self.emit(event_type, data)

    @rpc
    def checkout(self, book_id: str, member_id: str) -> dict:
        """docs/api.md's transaction example, as written there."""

        def work() -> dict:
            book = self.Book(book_id).get()
            if book is None or book["available"] < 1:
                raise Conflict(f"no copy of {book_id} is free", code="unavailable")
            self.Book(book_id).update({"available": book["available"] - 1})
            loan = self.Loan().create({"book": book_id, "member": member_id})
            self.record_action(f"Member/{member_id}", "borrow", f"Book/{book_id}")
            return loan

        return self.sql.transaction(work)

    @rpc(scope="read")
    def describe(self, value: object) -> str:
        return type(value).__name__

    @rpc
    def broadcast_value(self, value: object, tag: str | None = None) -> int:
        """Any value to the object's sockets, as `broadcast` writes it."""
        return self.broadcast(value, tag=tag)

    @rpc
    def accessors(self) -> dict:
        ada = self.Customer().create(name="Ada", email="ada@example.com", age=36)
        bob = self.Customer().create({"name": "Bob", "age": 17})
        ship = self.Spaceship().create({"$id": "enterprise", "crew": 430})
        updated = self.Customer(ada["$id"]).update({"plan": "pro"})
        return {
            "ada": ada,
            "updated": updated,
            "spaceship": self.noun("Spaceship", "enterprise").get(),
            "adults": self.Customer().list(where={"age": {"$gte": 18}}),
            "count": self.Customer().count(),
            "first_by_age": self.Customer().find_first(order_by="age"),
            "bob_deleted": self.Customer(bob["$id"]).soft_delete()["$deleted_at"] is not None,
            "count_after_delete": self.Customer().count(),
            "count_including_deleted": self.Customer().count(include_deleted=True),
            "sql_is_an_attribute": type(self.sql).__name__,
            "ship_version": ship["$version"],
            "plural": self.nouns.get("Person").plural,
            "ran": self.verbs.get("run").past,
            "shipped": self.verbs.get("ship").past,
        }

    @rpc
    def noun_op(self, type_name: str, thing_id: str | None, op: str, args: list) -> dict:
        """The Python API's answer to `self.<type_name>(<thing_id>).<op>(*args)`, run in the
        object: {"value": ...} or {"error": code, "status": status}."""
        accessor = self.noun(type_name) if thing_id is None else self.noun(type_name, thing_id)
        try:
            return {"value": getattr(accessor, op)(*args)}
        except HttpError as error:
            return {"error": error.code, "status": error.status}

    @rpc
    def undeclared_attribute(self) -> str:
        try:
            getattr(self, "lowercase_name")  # noqa: B009 - the lookup itself is under test
        except AttributeError as error:
            return str(error)
        return "no error"

    @rpc
    def rollback(self) -> dict:
        """A failed transaction leaves neither SQLite nor the cache changed."""
        original = self.Customer().create({"name": "Before"})
        accessor = self.Customer(original["$id"])
        accessor.get()  # cached now

        def failing() -> None:
            accessor.update({"name": "During"})
            self.Customer().create({"$id": "made-in-rollback", "name": "Ghost"})
            raise ValueError("abort")

        with contextlib.suppress(ValueError):
            self.things.transaction(failing)

        # An enclosing plain SQL transaction that fails rolls thing writes back too.
        def outer() -> None:
            accessor.update({"name": "Outer"})
            raise KeyError("abort")

        with contextlib.suppress(KeyError):
            self.sql.transaction(outer)
        stored = SqliteThingStore(self.sql).read(original["$id"])
        return {
            "cached": accessor.get(),
            "stored_version": stored.version if stored else None,
            "ghost": self.Customer("made-in-rollback").get(),
        }

    @rpc
    def plan(self, where: dict, order_by: str | None = None) -> list:
        # As the thing service sends it: naming the declared index its clause seeks by (ADR 0039).
        query = self.noun_policy.check_query("Customer", ThingQuery.build(where, order_by))
        table = "things" if query.index is None else f"things INDEXED BY {query.index}"
        condition = "type = ? AND deleted_at IS NULL"
        if query.where.sql != "1":
            condition += f" AND {query.where.sql}"
        rows = self.sql.exec(
            f"EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE {condition} ORDER BY {query.order_sql()}",
            "Customer",
            *query.where.params,
        )
        return [str(row["detail"]) for row in rows]
