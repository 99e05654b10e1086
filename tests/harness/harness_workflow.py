"""A DOWorkflow subclass for the integration tests: durable handlers, schedules and
workflows whose effects are counted in state, so the tests can see what ran and how often."""

import asyncio
import json
import time

from harness_lifetime import Lifetime

from dotdo import (
    AlarmInfo,
    DOWorkflow,
    Event,
    Noun,
    ScheduleInfo,
    every,
    on,
    override,
    rpc,
    workflow,
)
from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.router import Router
from dotdo.remote.marks import method_scope, rpc_methods


class HarnessWorkflow(Lifetime, DOWorkflow):
    stub_binding = "WORKFLOW"
    delivery_retry_limit = 3
    delivery_retry_delay_ms = 1000
    handler_timeout = 3  # seconds: the stuck handlers below are cut off after this long

    # -- app routes beside the framework's catch-alls (tests/integration/test_routes.py)

    def routes(self, router: Router) -> None:
        router.get("/Customer/:id/summary")(self._customer_summary)  # before super(): still wins
        super().routes(router)
        router.get("/Customer/stats")(self._customer_stats)  # after super(), as the README does
        # POST /_test/alarm and /_test/fault come from dotdo.testing.control, which the
        # plugin's runtime mixes into every class it serves (as into a user's own project).

    async def _customer_stats(self, request: HttpRequest) -> HttpResponse:
        return json_response({"type": "Customer", "count": self.Customer().count()})

    async def _customer_summary(self, request: HttpRequest) -> HttpResponse:
        thing = self.Customer(request.params["id"]).get() or {}
        return json_response({"id": request.params["id"], "name": thing.get("name")})

    def _bump(self, key: str) -> int:
        count = (self.state.get(key) or 0) + 1
        self.state.set(key, count)
        return count

    def _log(self, key: str, item: object) -> None:
        self.state.set(key, [*(self.state.get(key) or []), item])

    @on.Customer.created
    async def on_customer_created(self, event: Event) -> None:
        self._log("seen:customer_created", event.subject)

    @on.Stamp.created
    def on_stamp_created(self, event: Event) -> None:
        """Writes the thing its create wrote, so the create's answer is a version behind."""
        self.Stamp(str(event.subject)).update({"stamped": True})

    @on["*"].created
    def on_anything_created(self, event: Event) -> None:
        self._log("seen:any_created", event.type)

    @on.Order["*"]
    async def on_order_anything(self, event: Event) -> None:
        self._log("seen:order", event.type)

    @on.Chain.step
    async def chain_step(self, event: Event) -> None:
        """Sends itself again 5 s on until `n` runs out (a timer that is never idle)."""
        n = int((event.data or {}).get("n", 0))
        self.state.set("chain", n)
        if n > 0:
            await self.send_event("Chain.step", {"n": n - 1}, delay=5)

    @on.Payment.failed
    async def flaky(self, event: Event) -> None:
        attempt = self._bump("flaky:attempts")
        if attempt <= (event.data or {}).get("fail_times", 0):
            raise RuntimeError(f"attempt {attempt} fails")
        self._log("seen:payment", attempt)

    @every.hour
    async def hourly(self) -> None:
        self._bump("fired:hourly")

    @every.day.at("9am")
    async def daily(self, info) -> None:
        self._log("fired:daily", info.scheduled_at)

    # A `/` in its id (`class:leapday:0 0 29 2/12 *:UTC`); due on February 29 only, so the
    # tests' alarms and `run_due` within a day of now do not fire it.
    @every.cron("0 0 29 2/12 *")
    async def leapday(self) -> None:
        self._bump("fired:leapday")

    async def ticker(self) -> None:
        self._bump("fired:ticker")

    @rpc
    def schedule_ticker(self) -> str:
        return self.every(5).minutes(self.ticker)

    @rpc
    def emit_event(self, event_type: str, data: object) -> str:
        """The application's own `self.emit`, from inside the object."""
        return self.emit(event_type, data)

    @rpc
    def schedule_ticker_daily_at(self, time_of_day: str) -> str:
        return self.every.day.at(time_of_day)(self.ticker)

    @rpc
    def schedule_tickers(self, count: int) -> list:
        """`count` run-time schedules of `ticker`, one a minute of the day from midnight."""
        return [self.every.cron(f"{i % 60} {i // 60} * * *")(self.ticker) for i in range(count)]

    @rpc
    def schedule_in_zone(self, tz: str) -> dict:
        schedule_id = self.every.day.at("9am", tz=tz)(self.ticker)
        return next(s for s in self.list_schedules() if s["id"] == schedule_id)

    @rpc
    def schedule_closure(self) -> str:
        try:
            self.every.minute(lambda: None)
        except TypeError as error:
            return str(error)
        return "accepted"

    @rpc
    async def subscribe_and_send(self) -> dict:
        """Run-time handlers: wildcards, unsubscribe, and a failing one that breaks nothing."""
        seen: list[str] = []
        unsubscribe = self.on["*"]["*"](lambda event: seen.append(event.type))
        self.on.Customer["*"](lambda event: 1 / 0)
        first = await self.send_event("Customer.signedUp", {"plan": "pro"}, subject="cust-1")
        unsubscribe()
        await self.send_event("Customer.upgraded", {})
        return {"seen": seen, "first": first}

    @rpc
    async def alarm_and_timers(self) -> dict:
        """The alarm as the runtime holds it, and the earliest timer it should match."""
        return {"alarm": await self.timers.armed(), "earliest": self.timers.next_wake()}

    @rpc
    def socket_subscriptions(self) -> list:
        """What is stored for each open RPC socket (the part that survives hibernation)."""
        return [
            self.socket_state.get(connection.id, "subscriptions") or []
            for connection in self.websockets.connections("rpc")
        ]

    @rpc
    def counters(self, *keys: str) -> dict:
        return {key: self.state.get(key) for key in keys}

    # -- durable steps -----------------------------------------------------

    async def _effect(self, name: str) -> str:
        self._bump(f"ran:{name}")
        return f"{name}-done"

    async def _fails(self, name: str, times: int) -> str:
        attempt = self._bump(f"ran:{name}")
        if attempt <= times:
            raise RuntimeError(f"{name} attempt {attempt} fails")
        return f"{name}-ok-after-{attempt}"

    @workflow
    async def checkout(self, order: dict) -> dict:
        reserved = await self.do(self._effect, "reserve", step_id="reserve")
        charged = await self.do(self._effect, "charge", step_id="charge")
        shipped = await self.do(self._effect, "ship", step_id="ship")
        return {"order": order["id"], "steps": [reserved, charged, shipped]}

    @workflow
    async def flaky_flow(self, spec: dict) -> str:
        return await self.do(
            self._fails,
            "flaky_step",
            spec["fail_times"],
            retries={"limit": spec["limit"], "delay": 1, "backoff": 2},
        )

    async def _slow(self) -> str:
        await asyncio.sleep(2)
        return "too late"

    @workflow
    async def slow_flow(self, _: object) -> str:
        return await self.do(self._slow, step_id="slow", timeout=0.2)

    @rpc
    async def once(self, step_id: str) -> dict:
        first = await self.do(self._effect, "once", step_id=step_id)
        second = await self.do(self._effect, "once", step_id=step_id)
        outcome = await self.try_(self._fails, "tried", 5)
        return {"first": first, "second": second, "ok": outcome.ok, "error": str(outcome.error)}

    async def _load_profile(self) -> str:
        self._bump("ran:load_profile")
        return "profile"

    async def _charge_card(self) -> str:
        if self._bump("ran:charge_card") == 1:
            raise RuntimeError("card declined once")
        return "charged"

    @workflow
    async def reorderable(self, _: object) -> list:
        """Two positional steps whose order follows the state flag `flag:reorder`, as if
        the code changed under a waiting run."""
        steps = [self._load_profile, self._charge_card]
        if self.state.get("flag:reorder"):
            steps.reverse()
        return [await self.do(step, retries={"limit": 2, "delay": 1, "backoff": 2}) for step in steps]

    @rpc
    async def step_id_reused(self, step_id: str) -> dict:
        """One explicit step id run by two different actions, outside a workflow run."""
        first = await self.do(self._load_profile, step_id=step_id)
        try:
            await self.do(self._effect, "other", step_id=step_id)
        except Exception as error:
            return {"first": first, "error": str(error), "code": getattr(error, "code", None)}
        return {"first": first, "error": None, "code": None}

    # -- code that fails in odd ways (tests/integration/test_odd_failures.py) ---

    @staticmethod
    def _odd(kind: str) -> BaseException | None:
        """The odd failure `kind` names (None for any other): an error whose text cannot be
        made, holds a lone surrogate or runs past SQLite's 2 MB, or an exception of the
        standard library's that is not an Exception."""

        class Unprintable(Exception):
            def __str__(self) -> str:
                raise ValueError("no text for this error")

        makers = {
            "unprintable": Unprintable,
            "surrogate": lambda: RuntimeError("bad \ud800 text"),
            "huge": lambda: RuntimeError("x" * 3_000_000),
            "exit": lambda: SystemExit(3),
            "keyboard": KeyboardInterrupt,
            "generator_exit": GeneratorExit,
        }
        make = makers.get(kind)
        return None if make is None else make()

    @on.Odd.raised
    async def odd_handler(self, event: Event) -> None:
        self._bump("ran:odd_handler")
        error = self._odd(str((event.data or {}).get("kind")))
        if error is not None:
            raise error

    @on.Odd.raised
    def odd_handler_after(self, event: Event) -> None:
        self._bump("ran:odd_handler_after")

    async def _odd_step(self, kind: str) -> object:
        self._bump(f"ran:odd_step:{kind}")
        error = self._odd(kind)
        if error is not None:
            raise error
        return "y" * 3_000_000 if kind == "huge_result" else None

    @workflow
    async def odd_flow(self, spec: dict) -> object:
        retries = {"limit": spec.get("limit", 0), "delay": 1}
        value = await self.do(self._odd_step, spec["kind"], retries=retries)
        if spec.get("raise"):
            error = self._odd(spec["raise"])
            if error is not None:
                raise error
        return "z" * 3_000_000 if spec.get("huge_result") else value

    # -- the app's namespace -------------------------------------------------

    @rpc
    def namespace_refusals(self) -> dict:
        """What the framework answers, in the runtime, to a class taking one of its names by
        accident, to one replacing it on purpose, and to `self.things = ...`."""
        answers: dict = {}
        try:

            class Clashing(DOWorkflow):
                async def send_event(self, to: str, body: str) -> None: ...

        except TypeError as error:
            answers["class"] = str(error)

        class Replacing(DOWorkflow):
            @override
            @rpc(scope="admin")
            async def send_event(self, event_type: str, data: object = None) -> str:
                return "replaced"

        answers["replaced"] = {
            "rpc": "send_event" in rpc_methods(Replacing),
            "scope": method_scope(Replacing.send_event),
        }
        try:
            self.things = None
        except TypeError as error:
            answers["assignment"] = str(error)
        return answers

    # -- measurements (bench/workflow.py) ------------------------------------

    # Ten durable handlers; an event "Bench.n<k>" reaches the first k of them.
    for _index in range(10):

        async def _bench_handler(self, event: Event) -> None:
            pass

        for _k in range(_index + 1, 11):
            _bench_handler = on.Bench[f"n{_k}"](_bench_handler)
        locals()[f"bench_handler_{_index}"] = _bench_handler
    del _index, _k, _bench_handler

    async def _noop(self) -> int:
        return 1

    @workflow
    async def bench_steps(self, count: int) -> int:
        for i in range(count):
            await self.do(self._noop, step_id=f"s{i}")
        return count

    @rpc
    async def measure(self, what: str, count: int) -> dict:
        """Rows written and time inside the object for one send to `count` handlers, or one
        workflow run of `count` steps."""
        before, started = self.sql.rows_written, time.perf_counter()
        if what == "send":
            await self.send_event(f"Bench.n{count}" if count else "Bench.none", {"x": 1})
        else:
            await self.start_workflow("bench_steps", count)
        return {"rows_written": self.sql.rows_written - before, "ms": (time.perf_counter() - started) * 1000}

    # -- handlers that send, write, start workflows and call out ----------------

    @on.Alpha.created
    async def chain(self, event: Event) -> None:
        """The API reference's `welcome` pattern: a handler that sends."""
        self._log("chain", event.type)
        await self.send_event("Beta.notified", {"source": event.subject})
        await self.send_event("Delta.noted", {"source": event.subject})

    @on.Beta.notified
    async def chain_beta(self, event: Event) -> None:
        self._log("chain", event.type)
        await self.send_event("Gamma.notified", event.data)

    @on.Gamma.notified
    def chain_gamma(self, event: Event) -> None:
        self._log("chain", event.type)

    @on.Delta.noted
    def chain_delta(self, event: Event) -> None:
        self._log("chain", event.type)

    @on.Ledger.opened
    async def open_ledger(self, event: Event) -> None:
        """A thing write, an action and a workflow start from inside a handler."""
        entry = self.Entry().create({"$id": f"entry-{event.id}", "ledger": event.subject})
        self.record_action(f"Ledger/{event.subject}", "approve", f"Entry/{entry['$id']}")
        run = await self.start_workflow("close_ledger", event.subject, run_id=f"run-{event.id}")
        self._log("ledger", {"entry": entry["$id"], "run": run["status"]})

    @workflow
    async def close_ledger(self, ledger: str) -> str:
        """Started from a handler: a step, then a send."""
        await self.do(self._effect, "close", step_id="close")
        await self.send_event("Ledger.closed", {"ledger": ledger})
        return "closed"

    @on.Ledger.closed
    def ledger_closed(self, event: Event) -> None:
        self._log("ledger:closed", event.data["ledger"])

    @on.Entry.created
    def entry_created(self, event: Event) -> None:
        self._log("ledger:entries", event.subject)

    @on.Ledger.approved
    def ledger_approved(self, event: Event) -> None:
        self._log("ledger:actions", event.data["object"]["$id"])

    @on.Ping.sent
    async def ping(self, event: Event) -> None:
        """Calls another object, which calls back into this one while this handler waits."""
        origin = self.object_name or ""
        answer = await self.Echo(f"echo-{origin}").echo_back(origin, event.data["via"])
        self._log("ping", answer)

    @on.Pong.sent
    def pong(self, event: Event) -> None:
        self._log("pong", event.data["via"])

    @rpc
    async def echo_back(self, origin: str, via: str) -> str:
        namespace = self.env.WORKFLOW
        caller = namespace.get(namespace.idFromName(origin))
        if via == "rpc":
            await caller.send_event("Pong.sent", {"via": via})
        else:
            body = json.dumps({"type": "Pong.sent", "data": {"via": via}})
            response = await caller.fetch(
                "https://callback.localhost/events",
                method="POST",
                body=body,
                headers={"content-type": "application/json"},
            )
            assert response.status == 201, response.status
        return f"echoed by {self.object_name}"

    @on.Stuck.happened
    async def stuck(self, event: Event) -> None:
        """Never returns: only the class's `handler_timeout` ends it."""
        self._bump("stuck:attempts")
        await asyncio.Event().wait()

    async def _never(self, *_: object) -> None:
        self._bump("stuck:never")
        await asyncio.Event().wait()

    @rpc
    async def send_to_stuck_runtime_handler(self) -> str:
        unsubscribe = self.on.Jam.happened(self._never)
        try:
            return await self.send_event("Jam.happened", {})
        finally:
            unsubscribe()

    async def dying(self, info: ScheduleInfo) -> None:
        """Its first firing outlives the handler bound (the test kills the runtime in it)."""
        self._log("fired:dying", [info.scheduled_at, info.fired_at])
        if len(self.state.get("fired:dying")) == 1:
            await asyncio.sleep(30)

    @rpc
    def schedule_dying(self) -> dict:
        schedule_id = self.every(5).minutes(self.dying)
        return next(s for s in self.list_schedules() if s["id"] == schedule_id)

    @rpc
    def schedule_stuck(self) -> dict:
        schedule_id = self.every.hour(self._never)
        return next(s for s in self.list_schedules() if s["id"] == schedule_id)

    # -- cross-object calls --------------------------------------------------

    @rpc
    async def notify(self, message: str) -> str:
        self._log("inbox", message)
        return f"delivered to {self.ctx.id.name if hasattr(self.ctx.id, 'name') else 'object'}"

    @rpc
    async def call_customer(self, customer_id: str, message: str) -> str:
        return await self.Customer(customer_id).notify(message)


class HarnessStrict(Lifetime, DOWorkflow):
    """`strict_nouns` with declared nouns (Ticket with declared fields), and a handler whose
    noun is a typo, which the class-creation check logs."""

    strict_nouns = True
    stub_binding = "STRICT"
    declared_nouns = (
        Noun("Ticket", fields=("title", "status", "priority", "address", "tags"), indexes=("status",)),
        Noun("Person", plural="People"),
    )

    def _log(self, key: str, item: object) -> None:
        self.state.set(key, [*(self.state.get(key) or []), item])

    @on.Ticket.created
    def on_ticket_created(self, event: Event) -> None:
        self._log("seen:ticket_created", event.subject)

    @on.Tikcet.updated  # the typo: never fires, logged when the class is defined
    def on_ticket_updated(self, event: Event) -> None:
        self._log("seen:ticket_updated", event.subject)

    def _on_closed(self, event: Event) -> None:
        pass

    @rpc
    def subscribe_misspelt(self) -> None:
        """A run-time handler on a misspelt noun, subscribed and dropped."""
        self.on.Tikcet.closed(self._on_closed)()

    @rpc
    def create_from_python(self, noun: str) -> dict:
        """`self.<noun>().create(...)`, as application code writes it."""
        return getattr(self, noun)().create(title="from Python")

    @rpc
    async def notify(self, message: str) -> str:
        """A cross-object call's target: logs what it was told."""
        self._log("inbox", message)
        return self.object_name

    @rpc
    async def call_noun(self, noun: str, thing_id: str, message: str) -> str:
        """`self.<noun>(id).notify(message)`: a call to the object owning that thing."""
        return await getattr(self, noun)(thing_id).notify(message)

    @rpc
    def counters(self, *keys: str) -> dict:
        return {key: self.state.get(key) for key in keys}

    @rpc(scope="read")
    def raw_rows(self, sql: str) -> list:
        """Any SQL on the object's database, past the query API's checks (tests only)."""
        return self.sql.exec(sql)


class HarnessTimers(Lifetime, DOWorkflow):
    """An application's own alarm beside a class schedule, on one DOWorkflow subclass: what
    each fired, and when, is logged in state."""

    stub_binding = "TIMERS"

    def _log(self, key: str, item: object) -> None:
        self.state.set(key, [*(self.state.get(key) or []), item])

    async def on_alarm(self, info: AlarmInfo) -> None:
        await super().on_alarm(info)
        self._log("fired:alarm", {"at": int(time.time() * 1000), "scheduled": info.scheduled_time})

    @every.minute
    async def tick(self, info: ScheduleInfo) -> None:
        self._log("fired:tick", {"at": int(time.time() * 1000), "scheduled": info.scheduled_at})

    @rpc
    async def set_app_alarm(self, at_ms: int) -> int:
        return await self.alarms.set(at_ms)

    @rpc
    def timer_log(self) -> dict:
        return {key: self.state.get(key) or [] for key in ("fired:alarm", "fired:tick")}

    @rpc
    async def timer_state(self) -> dict:
        """The app's alarm, the next tick, and the runtime's alarm with the earliest timer."""
        tick = next(s for s in self.list_schedules() if s["handler"] == "tick")
        return {
            "app": await self.alarms.get(),
            "tick": tick["next_at"],
            "armed": await self.timers.armed(),
            "earliest": self.timers.next_wake(),
        }
