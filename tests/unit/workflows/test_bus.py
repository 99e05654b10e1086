"""The event bus in-process: delivery to durable and run-time handlers, retries with
doubling back-off, dead letters and replay, chained sends, delayed sends, rolled-back
writes, and deliveries lost with their object."""

from __future__ import annotations

import pytest

from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.errors import BadRequest, NotFound, PayloadTooLarge
from dotdo.semantic.eventtypes import Event
from dotdo.workflows.bus import DeliveryPolicy
from dotdo.workflows.handlers import on
from tests.inprocess import T0, App, InProcess, run

LEASE = 60_000


class Shop(App):
    @on.Order.placed
    async def confirm(self, event: Event) -> None:
        self.log.append(("confirm", event.data))

    @on.Order["*"]
    def audit(self, event: Event) -> None:
        self.log.append(("audit", event.type))

    @on.Payment.failed
    async def flaky(self, event: Event) -> None:
        attempt = sum(1 for entry in self.log if entry[0] == "flaky") + 1
        self.log.append(("flaky", attempt))
        if attempt <= event.data["fail_times"]:
            raise RuntimeError(f"attempt {attempt} fails")

    @on.Chain.started
    async def chain(self, event: Event) -> None:
        self.log.append(("chain", event.type))
        await self.obj.bus.send("Chain.continued", {"n": 1})
        await self.obj.bus.send("Chain.ended", {"n": 2})
        self.log.append(("chain", "sent both"))  # the sends never wait inside a delivery

    @on.Chain.continued
    @on.Chain.ended
    def chain_link(self, event: Event) -> None:
        self.log.append(("chain", event.type))


def names(obj: InProcess, kind: str) -> list[object]:
    return [entry[1] for entry in obj.journal if entry[0] == kind]


def deliveries(obj: InProcess) -> list[dict[str, object]]:
    return obj.rows("SELECT handler, status, attempts, next_at, last_error FROM dotdo_deliveries ORDER BY id")


def test_an_event_reaches_every_matching_handler_in_order_and_leaves_no_delivery_rows() -> None:
    obj = InProcess(Shop)
    event_id = run(obj.bus.send("Order.placed", {"total": 3}, subject="Order/o-1"))
    assert obj.journal == [("confirm", {"total": 3}), ("audit", "Order.placed")]  # in declaration order
    assert deliveries(obj) == []
    assert [event.id for event in obj.published] == [event_id]
    assert obj.rows("SELECT type, subject FROM events") == [{"type": "Order.placed", "subject": "Order/o-1"}]


def test_a_failing_handler_is_retried_with_doubling_back_off_then_buried_and_replayed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    obj = InProcess(Shop)  # retry_limit 3, retry_delay_ms 1000
    run(obj.bus.send("Payment.failed", {"fail_times": 3}))
    assert names(obj, "flaky") == [1]
    assert deliveries(obj)[0]["next_at"] == T0 + 1_000 and obj.storage.alarm == T0 + 1_000
    assert run(obj.tick(999))["deliveries"] == 0  # not yet
    assert run(obj.tick(1))["deliveries"] == 1
    assert deliveries(obj)[0]["next_at"] == T0 + 1_000 + 2_000  # doubled
    assert run(obj.tick(1_999))["deliveries"] == 0
    assert run(obj.tick(1))["deliveries"] == 1
    assert names(obj, "flaky") == [1, 2, 3]
    (dead,) = obj.bus.dead_letters()
    assert (dead["handler"], dead["attempts"], dead["type"]) == ("flaky", 3, "Payment.failed")
    assert "attempt 3 fails" in str(dead["last_error"])
    # each failure but the last says it is retried, and when (the retry's wait doubles)
    assert "to handler flaky: attempt 1 of 3 failed, retried in 1.0 s (at 20" in caplog.text
    assert "to handler flaky: attempt 2 of 3 failed, retried in 2.0 s (at 20" in caplog.text
    assert "attempt 3 of 3" not in caplog.text
    # the log line says how to deliver it again
    assert (
        f"is a dead letter after 3 attempts (last: RuntimeError: attempt 3 fails); once the handler is "
        f"fixed, replay it: POST /@acme/events/dead/{dead['id']}/replay or "
        f'await self.replay_dead_letter("{dead["id"]}")'
    ) in caplog.text
    assert deliveries(obj)[0]["next_at"] is None and obj.storage.alarm is None
    assert run(obj.tick(3_600_000))["deliveries"] == 0  # a dead letter is not retried
    replayed = run(obj.bus.replay(str(dead["id"])))
    assert replayed == {"id": dead["id"], "handler": "flaky", "delivered": True}
    assert names(obj, "flaky") == [1, 2, 3, 4] and obj.bus.dead_letters() == []
    with pytest.raises(NotFound) as missing:
        run(obj.bus.replay(str(dead["id"])))
    assert missing.value.code == "dead_letter_not_found"


def test_a_replayed_dead_letter_that_fails_again_goes_back_to_the_retry_cycle() -> None:
    obj = InProcess(Shop)
    run(obj.bus.send("Payment.failed", {"fail_times": 5}))
    run(obj.tick(1_000))
    run(obj.tick(2_000))
    (dead,) = obj.bus.dead_letters()
    for bad in (0, 1001, True):
        with pytest.raises(BadRequest):
            obj.bus.dead_letters(bad)
    replayed = run(obj.bus.replay(str(dead["id"])))
    assert replayed["delivered"] is False and replayed["status"] == "pending" and replayed["attempts"] == 1
    assert obj.storage.alarm == obj.clock() + 1_000
    run(obj.tick(1_000))
    assert names(obj, "flaky") == [1, 2, 3, 4, 5]
    assert run(obj.tick(2_000))["deliveries"] == 1
    assert names(obj, "flaky")[-1] == 6 and deliveries(obj) == []


class Club(App):
    @on.Member.borrowed
    async def count_borrow(self, event: Event) -> None:
        raise ValueError("a bug, fixed with the rename")

    @on.Member["*"]
    def audit(self, event: Event) -> None:
        self.log.append(("audit", event.type))


class Renamed(App):
    """Club after a save: `count_borrow` fixed and renamed while its delivery was retried."""

    @on.Member.borrowed
    async def tally_borrow(self, event: Event) -> None:
        self.log.append(("tally", event.data))

    @on.Member["*"]
    def audit(self, event: Event) -> None:
        self.log.append(("audit", event.type))


def bury(obj: InProcess) -> dict[str, object]:
    """Tick until the one pending delivery is a dead letter (3 attempts); the letter."""
    run(obj.tick(1_000))
    run(obj.tick(2_000))
    (dead,) = obj.bus.dead_letters()
    return dead


def test_a_dead_letter_of_a_renamed_handler_is_replayed_to_the_new_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    obj = InProcess(Club)
    run(obj.bus.send("Member.borrowed", {"book": "b-1"}))
    obj = obj.restart(Renamed)  # the retries now meet a class with no `count_borrow`
    dead = bury(obj)
    assert "is a dead letter after 3 attempts" in caplog.text
    assert "once the handler is fixed" not in caplog.text  # its error says where to replay it
    assert dead["handler"] == "count_borrow"
    error = str(dead["last_error"])
    assert error.startswith("no handler method 'count_borrow' for Member.borrowed (renamed or removed?)")
    assert "its handlers now: tally_borrow, audit." in error  # what to replay it to, and how
    assert (
        'POST /@acme/events/dead/<id>/replay {"handler": "tally_borrow"} or '
        'await self.replay_dead_letter("<id>", handler="tally_borrow")'
    ) in error
    # the same name again fails again, back in the retry cycle with it
    again = run(obj.bus.replay(str(dead["id"])))
    assert (again["handler"], again["delivered"], again["status"]) == ("count_borrow", False, "pending")
    dead = bury(obj)
    # a name that is no handler of the event, or no name, is refused and changes nothing
    for wrong, status in [("nope", 404), ("count_borrow", 404), ("confirm", 404), (5, 400), (["a"], 400)]:
        with pytest.raises((NotFound, BadRequest)) as refused:
            run(obj.bus.replay(str(dead["id"]), wrong))  # type: ignore[arg-type]  # a remote caller's
        assert refused.value.status == status
        if status == 404:
            assert refused.value.code == "handler_not_found"
            assert str(refused.value.message).endswith("its handlers now: tally_borrow, audit")
        else:
            assert refused.value.code == "invalid_params"
    assert obj.bus.dead_letters() == [dead]
    replayed = run(obj.bus.replay(str(dead["id"]), "tally_borrow"))
    assert replayed == {"id": dead["id"], "handler": "tally_borrow", "delivered": True}
    assert names(obj, "tally") == [{"book": "b-1"}] and obj.bus.dead_letters() == []
    assert names(obj, "audit") == ["Member.borrowed"]  # delivered once, not again with the replay


def test_a_dead_letter_replayed_to_another_handler_is_retried_there() -> None:
    obj = InProcess(Club)
    run(obj.bus.send("Member.borrowed"))
    dead = bury(obj)
    replayed = run(obj.bus.replay(str(dead["id"]), "audit"))  # any handler of the event
    assert replayed["delivered"] is True and names(obj, "audit") == ["Member.borrowed", "Member.borrowed"]

    class Broken(Renamed):
        @on.Member.borrowed
        async def tally_borrow(self, event: Event) -> None:
            raise ValueError("not fixed yet")

    run(obj.bus.send("Member.borrowed"))
    dead = bury(obj.restart(Renamed))
    obj = obj.restart(Broken)  # the new name fails too: its retries keep the new name
    replayed = run(obj.bus.replay(str(dead["id"]), "tally_borrow"))
    assert (replayed["handler"], replayed["status"]) == ("tally_borrow", "pending")
    assert [row["handler"] for row in deliveries(obj)] == ["tally_borrow"]
    obj = obj.restart(Renamed)
    assert run(obj.tick(1_000))["deliveries"] == 1
    assert deliveries(obj) == [] and names(obj, "tally") == [None]


def test_a_dead_letter_whose_handler_is_gone_with_no_other_says_so() -> None:
    class Alone(App):
        @on.Member.borrowed
        async def count_borrow(self, event: Event) -> None:
            raise ValueError("a bug")

    obj = InProcess(Alone)
    run(obj.bus.send("Member.borrowed"))
    dead = bury(obj.restart(App))  # the handler removed, none left for the event
    assert str(dead["last_error"]).endswith("no durable handler listens to Member.borrowed now")


def test_a_chain_of_sends_is_delivered_in_emission_order_before_the_first_send_returns() -> None:
    obj = InProcess(Shop)
    run(obj.bus.send("Chain.started"))
    assert names(obj, "chain") == ["Chain.started", "sent both", "Chain.continued", "Chain.ended"]


def test_a_delayed_send_waits_for_the_alarm() -> None:
    obj = InProcess(Shop)
    send_id = run(obj.bus.send("Order.placed", {"total": 1}, delay=30))
    assert obj.journal == [] and obj.storage.alarm == T0 + 30_000
    assert run(obj.tick(29_999)) == {"alarm": 0, "sends": 0, "deliveries": 0, "schedules": 0, "workflows": 0}
    assert run(obj.tick(1))["sends"] == 1
    assert names(obj, "confirm") == [{"total": 1}]
    assert obj.rows("SELECT id FROM dotdo_scheduled_sends") == [] and send_id
    assert obj.storage.alarm is None


class Canceller(App):
    """The first delayed send's handler cancels the second, due in the same pass."""

    @on.Reminder.first
    async def cancel_the_next(self, event: Event) -> None:
        self.log.append(("cancelled", self.obj.bus.cancel(event.data["next"])))

    @on.Reminder.second
    def second(self, event: Event) -> None:
        self.log.append(("second", event.data))


def test_a_send_cancelled_while_an_earlier_one_of_its_pass_runs_is_not_sent() -> None:
    """The pass read its due sends before the first ran: the cancel answered True and the
    second was sent all the same."""
    obj = InProcess(Canceller)
    second = run(obj.bus.send("Reminder.second", {"n": 2}, delay=20))
    run(obj.bus.send("Reminder.first", {"next": second}, delay=10))
    assert run(obj.tick(30_000))["sends"] == 1
    assert names(obj, "cancelled") == [True] and names(obj, "second") == []
    assert obj.rows("SELECT id FROM dotdo_scheduled_sends") == []


def test_cancel_answers_whether_a_send_waited() -> None:
    obj = InProcess(Shop)
    send_id = run(obj.bus.send("Order.placed", {"total": 1}, delay=30))
    assert obj.bus.cancel(send_id.upper()) is True  # an id in any case
    assert obj.bus.cancel(send_id) is False and obj.bus.cancel("nope") is False
    assert run(obj.tick(60_000))["sends"] == 0 and obj.storage.alarm is None


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"event_type": "not-a-type"}, "invalid_event_type"),
        ({"event_type": "Order.placed", "data": {"n": float("nan")}}, "invalid_data"),
        ({"event_type": "Order.placed", "delay": -1}, "invalid_delay"),
        ({"event_type": "Order.placed", "delay": 1, "at": T0}, "invalid_delay"),
        ({"event_type": "Order.placed", "at": 0}, "invalid_at"),
    ],
)
def test_a_bad_send_is_a_400_and_stores_nothing(arguments: dict[str, object], code: str) -> None:
    obj = InProcess(Shop)
    with pytest.raises(BadRequest) as refused:
        run(obj.bus.send(**arguments))  # type: ignore[arg-type]
    assert refused.value.code == code
    assert obj.rows("SELECT count(*) AS n FROM events") == [{"n": 0}]
    assert obj.rows("SELECT count(*) AS n FROM dotdo_scheduled_sends") == [{"n": 0}]


def test_data_past_the_value_bound_is_a_413_and_stores_nothing() -> None:
    obj = InProcess(Shop)
    for delay in (None, 30):
        with pytest.raises(PayloadTooLarge) as refused:
            run(obj.bus.send("Order.placed", "x" * MAX_VALUE_BYTES, delay=delay))
        assert refused.value.code == "value_too_large"
    assert obj.rows("SELECT count(*) AS n FROM events") == [{"n": 0}]
    assert obj.rows("SELECT count(*) AS n FROM dotdo_scheduled_sends") == [{"n": 0}]


def test_an_event_of_a_rolled_back_write_is_never_delivered() -> None:
    obj = InProcess(Shop)

    def write_then_fail() -> None:
        obj.bus.emit("Order.placed", {"total": 1}, "Order/o-1")
        raise RuntimeError("the write fails after its event")

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            obj.sql.transaction(write_then_fail)
        await obj.bus.send("Order.shipped")  # a later event is delivered, the rolled-back one never

    run(scenario())
    assert obj.journal == [("audit", "Order.shipped")]
    assert deliveries(obj) == [] and obj.rows("SELECT type FROM events") == [{"type": "Order.shipped"}]


def test_a_delivery_lost_with_its_object_is_retried_when_its_lease_runs_out() -> None:
    obj = InProcess(Shop)
    obj.sql.transaction(lambda: obj.bus.emit("Order.placed", {"total": 9}))  # never delivered:
    lost = obj.restart()  # the object died before its drain ran
    assert lost.rows("SELECT handlers, next_at FROM dotdo_outbox") == [
        {"handlers": '["confirm", "audit"]', "next_at": T0 + LEASE}
    ]
    assert lost.storage.alarm == T0 + LEASE
    assert run(lost.tick(LEASE - 1))["deliveries"] == 0
    assert run(lost.tick(1))["deliveries"] == 2
    assert lost.journal == [("confirm", {"total": 9}), ("audit", "Order.placed")]
    assert deliveries(lost) == [] and lost.rows("SELECT * FROM dotdo_outbox") == []


class Pair(App):
    """Two durable handlers on one event; the second sees what the outbox holds while it runs."""

    @on.Order.placed
    def first(self, event: Event) -> None:
        self.log.append(("first", event.id))

    @on.Order.placed
    def second(self, event: Event) -> None:
        self.log.append(("held", self.obj.rows("SELECT handlers FROM dotdo_outbox")))
        if self.obj.journal.count(("fail", True)):
            raise RuntimeError("second fails")


def test_each_finished_handler_is_forgotten_before_the_next_runs() -> None:
    """What a crash in the middle of an event's handlers would leave: only the handlers not
    yet finished, which are all the alarm runs again (the test above)."""
    obj = InProcess(Pair)
    run(obj.bus.send("Order.placed"))
    assert names(obj, "held") == [[{"handlers": '["second"]'}]]
    assert obj.rows("SELECT * FROM dotdo_outbox") == [] and deliveries(obj) == []


def test_a_first_attempt_that_fails_gets_its_delivery_row_then_or_a_dead_letter() -> None:
    obj = InProcess(Pair)
    obj.journal.append(("fail", True))
    event_id = run(obj.bus.send("Order.placed"))
    assert deliveries(obj) == [
        {"handler": "second", "status": "pending", "attempts": 1, "next_at": T0 + 1_000,
         "last_error": "RuntimeError: second fails"}
    ]  # fmt: skip
    assert obj.rows("SELECT * FROM dotdo_outbox") == [] and obj.storage.alarm == T0 + 1_000
    once = InProcess(Pair, policy=DeliveryPolicy(retry_limit=1, retry_delay_ms=1000, handler_timeout=2.0))
    once.journal.append(("fail", True))
    dead_id = run(once.bus.send("Order.placed"))
    (dead,) = once.bus.dead_letters()
    assert (dead["event_id"], dead["handler"], dead["attempts"], dead["created_at"]) == (
        dead_id,
        "second",
        1,
        T0,
    )
    assert once.storage.alarm is None and event_id


def test_run_time_handlers_see_matching_events_until_they_unsubscribe() -> None:
    obj = InProcess(Shop)
    seen: list[str] = []
    unsubscribe = obj.bus.subscribe("*.shipped", lambda event: seen.append(event.type))
    obj.bus.subscribe("Order.*", lambda event: 1 / 0)  # a failing one breaks nothing
    run(obj.bus.send("Order.shipped"))
    run(obj.bus.send("Parcel.shipped"))
    unsubscribe()
    run(obj.bus.send("Order.shipped"))
    assert seen == ["Order.shipped", "Parcel.shipped"]
    assert names(obj, "audit") == ["Order.shipped", "Order.shipped"]


def test_observers_see_every_event_at_once_in_the_emitting_transaction() -> None:
    obj = InProcess(Shop)
    seen: list[tuple[str, bool]] = []
    obj.bus.observe(lambda event: seen.append((event.type, obj.sql._in_transaction)))

    def write() -> None:
        obj.bus.emit("Order.placed", {"id": "o-1"})
        assert seen == [("Order.placed", True)]  # before the write commits, not on delivery

    obj.sql.transaction(write)
    run(obj.bus.send("Order.shipped", {"id": "o-1"}))
    assert [event_type for event_type, _ in seen] == ["Order.placed", "Order.shipped"]


def test_an_event_nobody_receives_is_not_queued_while_no_socket_is_open() -> None:
    obj = InProcess(Shop)
    obj.sockets_open = False
    event_id = run(obj.bus.send("Invoice.sent", {"n": 1}))  # no handler of either kind
    assert obj.published == [] and len(obj.bus._outbox) == 0
    assert obj.rows("SELECT id FROM events") == [{"id": event_id}]  # recorded all the same
    obj.sockets_open = True
    second = run(obj.bus.send("Invoice.sent", {"n": 2}))
    assert [event.id for event in obj.published] == [second]


def test_with_no_socket_open_handlers_still_get_every_event_they_listen_to() -> None:
    obj = InProcess(Shop)
    obj.sockets_open = False
    seen: list[str] = []
    obj.bus.subscribe("Invoice.*", lambda event: seen.append(event.type))
    run(obj.bus.send("Invoice.sent"))
    run(obj.bus.send("Order.placed", {"total": 1}))
    assert seen == ["Invoice.sent"]
    assert obj.journal == [("confirm", {"total": 1}), ("audit", "Order.placed")]
    assert [event.type for event in obj.published] == ["Invoice.sent", "Order.placed"]  # the host decides
