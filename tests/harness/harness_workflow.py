"""A DOWorkflow subclass for the integration tests: durable handlers, schedules and
workflows whose effects are counted in state, so the tests can see what ran and how often."""

import asyncio
import time

from harness_lifetime import Lifetime

from dotdo import DOWorkflow, Event, every, on, rpc, workflow


class HarnessWorkflow(Lifetime, DOWorkflow):
    stub_binding = "WORKFLOW"
    delivery_retry_limit = 3
    delivery_retry_delay_ms = 1000

    def _bump(self, key: str) -> int:
        count = (self.state.get(key) or 0) + 1
        self.state.set(key, count)
        return count

    def _log(self, key: str, item: object) -> None:
        self.state.set(key, [*(self.state.get(key) or []), item])

    @on.Customer.created
    async def on_customer_created(self, event: Event) -> None:
        self._log("seen:customer_created", event.subject)

    @on["*"].created
    def on_anything_created(self, event: Event) -> None:
        self._log("seen:any_created", event.type)

    @on.Order["*"]
    async def on_order_anything(self, event: Event) -> None:
        self._log("seen:order", event.type)

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

    async def ticker(self) -> None:
        self._bump("fired:ticker")

    @rpc
    def schedule_ticker(self) -> str:
        return self.every(5).minutes(self.ticker)

    @rpc
    def schedule_ticker_daily_at(self, time_of_day: str) -> str:
        return self.every.day.at(time_of_day)(self.ticker)

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
        first = await self.send("Customer.signedUp", {"plan": "pro"}, subject="cust-1")
        unsubscribe()
        await self.send("Customer.upgraded", {})
        return {"seen": seen, "first": first}

    @rpc
    async def alarm_and_timers(self) -> dict:
        """The alarm as the runtime holds it, and the earliest timer it should match."""
        return {"alarm": await self.alarms.get(), "earliest": self._next_wake()}

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
            await self.send(f"Bench.n{count}" if count else "Bench.none", {"x": 1})
        else:
            await self.start_workflow("bench_steps", count)
        return {"rows_written": self.sql.rows_written - before, "ms": (time.perf_counter() - started) * 1000}

    # -- cross-object calls --------------------------------------------------

    @rpc
    async def notify(self, message: str) -> str:
        self._log("inbox", message)
        return f"delivered to {self.ctx.id.name if hasattr(self.ctx.id, 'name') else 'object'}"

    @rpc
    async def call_customer(self, customer_id: str, message: str) -> str:
        return await self.Customer(customer_id).notify(message)
