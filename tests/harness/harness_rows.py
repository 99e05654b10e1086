"""A DOWorkflow for counting the rows each operation writes (bench/rows_written.py,
tests/integration/test_rows_written.py): no handler, schedule or workflow but the ones
the counts need, and none of them writes, so every row counted is the framework's.

    Ping.h0 / Ping.h1 / Ping.h3   events with 0, 1 and 3 durable handlers
    steps(n)                      a workflow of n durable no-op steps
    tick                          an hourly class schedule that does nothing

The rows an HTTP request wrote, delivery of its events included, are `last_request()`
over Workers RPC (SQLite's own `rowsWritten`, index entries included, as Cloudflare
bills them), beside how often the timer service set or deleted the runtime's alarm.
A schedule firing is `POST /_test/alarm`, the test route dotdo.testing's runtime adds.

DOWorkflow extends DOStorage, but this class keeps the direct path (things straight into
`things`, events into the `events` table, no storage tables): its counts are what the
tiers are measured against (ADR 0020, ADR 0019). `test_rows_written.py` counts the default
app's tiered path on the DOTDO binding beside them.
"""

from harness_lifetime import Lifetime

from dotdo import DOSemantic, DOWorkflow, Event, every, on, rpc, workflow


class HarnessRows(Lifetime, DOWorkflow):
    stub_binding = "ROWS"

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self._last = {"rows": 0, "alarm_writes": 0}

    def migrations(self):
        """DOWorkflow's components without DOStorage's (`storage`, `archive`): `events` stays a table."""
        tiered = ("storage", "archive")
        return [component for component in super().migrations() if component.name not in tiered]

    def thing_store(self):
        """The direct path's store (DOSemantic's), not the tiers."""
        return DOSemantic.thing_store(self)

    def event_store(self):
        """The direct path's `events` table (DOSemantic's), not the log and its segments."""
        return DOSemantic.event_store(self)

    async def fetch(self, request):
        rows, alarms = self.sql.rows_written, self.timers.alarm_writes
        response = await super().fetch(request)  # DOWorkflow's: returns once its events are delivered
        self._last = {"rows": self.sql.rows_written - rows, "alarm_writes": self.timers.alarm_writes - alarms}
        return response

    @rpc(scope="read")
    def last_request(self) -> dict:
        """Rows written and alarm writes of the last HTTP request this instance served."""
        return dict(self._last)

    @rpc(scope="read")
    def explain(self, statement: str, params: list) -> list:
        """SQLite's plan for `statement` (EXPLAIN QUERY PLAN), one line per step."""
        return [str(row["detail"]) for row in self.sql.exec(f"EXPLAIN QUERY PLAN {statement}", *params)]

    @rpc(scope="read")
    def raw_rows(self, statement: str) -> list:
        """Any SQL on the object's database (tests only)."""
        return self.sql.exec(statement)

    @on.Ping.h1
    @on.Ping.h3
    async def first_handler(self, event: Event) -> None:
        pass

    @on.Ping.h3
    async def second_handler(self, event: Event) -> None:
        pass

    @on.Ping.h3
    async def third_handler(self, event: Event) -> None:
        pass

    async def _noop(self) -> int:
        return 1

    @workflow
    async def steps(self, count: int) -> int:
        for i in range(count):
            await self.do(self._noop, step_id=f"s{i}")
        return count

    @every.hour
    async def tick(self) -> None:
        pass
