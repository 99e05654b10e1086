"""Every bad body of a create (`POST /:Noun`: `codec.loads`, then `Things.create`), and of
an update or a replace (`PATCH` / `PUT /:Noun/:id`), gets its own status, code and
message, and a good one is stored as sent; whatever the request path leaves out as
already known (a decode of a text with no tag, a check the parse made)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dotdo.core.sql import Sql
from dotdo.errors import HttpError
from dotdo.semantic.store import THING_TABLES, SqliteThingStore
from dotdo.semantic.things import Things
from dotdo.wire import codec
from tests.storage import Storage

RANGE = "integers are limited to 64 bits (-9223372036854775808 to 9223372036854775807)"
ID_RULE = "1-128 letters, digits and '_.:-', starting with a letter or digit"
SURROGATE = (
    "Request body is not valid JSON: a string holds the unpaired surrogate U+{}, which is not Unicode text"
)


class Events:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any]] = []

    def emit(
        self, event_type: str, data: object = None, subject: str | None = None, object: str | None = None
    ) -> str:
        self.emitted.append((event_type, data))
        return "event"


def things(events: Events | None = None) -> Things:
    sql = Sql(Storage())
    for migration in THING_TABLES.migrations:
        for statement in migration.statements:
            if isinstance(statement, str):
                sql.run(statement)
            else:
                statement(sql)
    return Things(SqliteThingStore(sql), events or Events(), lambda: 1_767_225_600_000)


def create(body: bytes) -> Any:
    return things().create("Customer", codec.loads(body))


BAD = [
    (b'{"name": "Ada"', 400, "invalid_json", "Request body is not valid JSON: Expecting ',' delimiter"),
    (b'{"n": NaN}', 400, "invalid_json", "Request body is not valid JSON: NaN is not JSON"),
    (b'{"n": -Infinity}', 400, "invalid_json", "Request body is not valid JSON: -Infinity is not JSON"),
    (
        b"\xef\xbb\xbf\xef\xbb\xbf{}",
        400,
        "invalid_json",
        "Request body is not valid JSON: Unexpected UTF-8 BOM",
    ),
    (b'{"s": "\\ud800"}', 400, "invalid_json", SURROGATE.format("D800")),
    (b'{"\\udfff": 1}', 400, "invalid_json", SURROGATE.format("DFFF")),
    (
        b"[" * 600 + b"]" * 600,
        400,
        "invalid_json",
        "Request body is not valid JSON: nested deeper than 512 levels",
    ),
    (b'{"n": 1e400}', 400, "invalid_data", "Thing data: numbers are finite (no NaN or Infinity)"),
    (b'{"n": [-1e400]}', 400, "invalid_data", "Thing data: numbers are finite (no NaN or Infinity)"),
    (b'{"n": 9223372036854775808}', 400, "invalid_data", f"Thing data: {RANGE}"),
    (b'{"n": {"m": -9223372036854775809}}', 400, "invalid_data", f"Thing data: {RANGE}"),
    (b'{"n": {"$bigint": "9223372036854775808"}}', 400, "invalid_data", f"Thing data: {RANGE}"),
    (
        b'{"n": {"$number": "NaN"}}',
        400,
        "invalid_data",
        "Thing data: numbers are finite (no NaN or Infinity)",
    ),
    (b'{"n": {"$number": "nope"}}', 400, "invalid_value", '$number value "nope" is invalid'),
    (b'{"when": {"$date": 0}}', 400, "invalid_data", "Thing data is not JSON: datetime has no JSON form"),
    (
        b'{"when": {"\\u0024date": 0}}',
        400,
        "invalid_data",
        "Thing data is not JSON: datetime has no JSON form",
    ),
    (b'{"when": {"$date": "soon"}}', 400, "invalid_value", '$date value "soon" is invalid'),
    (b'{"blob": {"$bytes": "aGk="}}', 400, "invalid_data", "Thing data is not JSON: bytes has no JSON form"),
    (
        b'{"a": ' + b"[" * 32 + b"1" + b"]" * 32 + b"}",
        400,
        "invalid_data",
        "Thing data is nested deeper than 32 levels",
    ),
    (
        b'{"a": ' + b'{"b": ' * 70 + b"1" + b"}" * 70 + b"}",
        400,
        "invalid_value",
        "value is nested too deeply",
    ),
    (b'{"$type": "Order"}', 400, "type_mismatch", "$type is 'Order' but the thing is a Customer"),
    (b'{"$version": 1.5}', 400, "invalid_version", "$version is a positive integer"),
    (
        b'{"$version": 9223372036854775808}',
        400,
        "invalid_version",
        "$version is a positive integer of at most 64",
    ),
    (b'{"$version": {"$bigint": "9223372036854775808"}}', 400, "invalid_version", "$version is a positive"),
    (b'{"$secret": 1}', 400, "invalid_data", "Property names may not start with '$' ('$secret')"),
    (b'{"$id": "-dash"}', 400, "invalid_id", f"Invalid id '-dash': {ID_RULE}"),
    (b'{"$id": 7}', 400, "invalid_id", f"Invalid id 7: {ID_RULE}"),
    # URL dot segments (RFC 3986 §5.2.4): an id no HTTP route could reach.
    (b'{"$id": "."}', 400, "invalid_id", f"Invalid id '.': {ID_RULE}"),
    (b'{"$id": ".."}', 400, "invalid_id", f"Invalid id '..': {ID_RULE}"),
    (
        b'{"v": "' + b"x" * (1024 * 1024) + b'"}',
        413,
        "thing_too_large",
        "A thing is at most 1048576 bytes as JSON",
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "message"), BAD, ids=[repr(b[0][:24]) for b in BAD])
def test_each_bad_body_gets_its_own_error(body: bytes, status: int, code: str, message: str) -> None:
    with pytest.raises(HttpError) as refused:
        create(body)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert refused.value.message.startswith(message)


@pytest.mark.parametrize(("body", "status", "code", "message"), BAD, ids=[repr(b[0][:24]) for b in BAD])
def test_each_bad_body_of_an_update_or_a_replace_gets_its_own_error(
    body: bytes, status: int, code: str, message: str
) -> None:
    service = things()
    service.create("Customer", {"$id": "c-1", "name": "Ada"})
    for write in (service.update, service.replace):
        with pytest.raises(HttpError) as refused:
            write("Customer", "c-1", codec.loads(body))
        assert (refused.value.status, refused.value.code) == (status, code)
        assert refused.value.message.startswith(message)
    unchanged = service.get("Customer", "c-1")
    assert unchanged is not None and unchanged["$version"] == 1 and unchanged["name"] == "Ada"


GOOD = [
    b'{"$id": "c-1", "name": "Ada", "tags": ["a", "b"], "address": {"city": "Lisbon"}, "age": 55}',
    b'{"n": 9223372036854775807, "m": -9223372036854775808, "f": 1.5e300, "z": -0.0, "t": true}',
    b'{"a": ' + b"[" * 31 + b"1" + b"]" * 31 + b', "s": "$date", "k": {"$dates": 1}}',
    '{"name": "Zoë", "emoji": "\\ud83d\\ude00", "nl": "a\\nb"}'.encode(),
    b"\xef\xbb\xbf" + b'{"bom": 1}',
    json.dumps({"utf16": "é"}).encode("utf-16"),
]


@pytest.mark.parametrize("body", GOOD, ids=range(len(GOOD)))
def test_a_good_body_is_stored_and_answered_as_sent(body: bytes) -> None:
    events = Events()
    service = things(events)
    sent = json.loads(body.decode(json.detect_encoding(body)).lstrip("\ufeff"))
    thing = service.create("Customer", codec.loads(body))
    properties = {k: v for k, v in sent.items() if not k.startswith("$")}
    assert {k: v for k, v in thing.items() if not k.startswith("$")} == properties
    assert service.get("Customer", thing["$id"]) == thing
    assert events.emitted == [("Customer.created", thing)]


def test_a_taken_id_names_the_thing_that_holds_it() -> None:
    # The user's case: "A thing with id 'ada' already exists" where it is a Person.
    store = things()
    store.create("Person", {"$id": "ada"})

    def refusal(work: Any) -> str:
        with pytest.raises(HttpError) as refused:
            work()
        assert (refused.value.status, refused.value.code) == (409, "thing_exists")
        return str(refused.value.message)

    assert refusal(lambda: store.create("Person", {"$id": "ada"})) == "Person 'ada' already exists"
    assert refusal(lambda: store.create_many("Person", [{"$id": "bob"}, {"$id": "ada"}])) == (
        "Person 'ada' already exists"
    )
    assert store.get("Person", "bob") is None  # all of a create_many or none
    assert refusal(lambda: store.create("Customer", {"$id": "ada"})) == (
        "Person 'ada' already exists (an id names one thing of an object, whatever its type)"
    )
    store.soft_delete("Person", "ada")
    assert refusal(lambda: store.create("Person", {"$id": "ada"})) == (
        "Person 'ada' already exists, soft-deleted: restore it, or delete it for good first"
    )
