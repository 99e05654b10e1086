"""The `every` scheduling DSL, compiled to cron.

    every.Monday.at9am(handler)         0 9 * * 1
    every.day.at("6pm")(handler)        0 18 * * *
    every(5).minutes(handler)           */5 * * * *
    every.weekday.at("9:30am")          30 9 * * 1-5
    every.cron("*/15 9-17 * * 1-5")     as given

Unbound (the module's `every`) a schedule marks a method as durable, found by
name; bound to an object (`self.every`) it registers at run time (persisted too,
by method name). Bad input fails here, with a message, before any cron exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dotdo.errors import CronError

__all__ = ["SCHEDULES_MARK", "Every", "ScheduleSpec", "every", "parse_time_of_day"]

SCHEDULES_MARK = "__dotdo_schedules__"
_WEEKDAYS = {
    "Sunday": "0",
    "Monday": "1",
    "Tuesday": "2",
    "Wednesday": "3",
    "Thursday": "4",
    "Friday": "5",
    "Saturday": "6",
}
_DAY_SETS = {"day": "*", "weekday": "1-5", "weekend": "0,6", **_WEEKDAYS}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
_AT_NAME = re.compile(r"^at(\d{1,2})(?:_?(\d{2}))?(am|pm)$")

Register = Callable[["ScheduleSpec", Any], Any]


def parse_time_of_day(text: str) -> tuple[int, int]:
    """`"9am"`, `"9:30am"`, `"6pm"`, `"18:00"`, `"noon"`, `"midnight"` -> (hour, minute)."""
    if not isinstance(text, str):
        raise CronError(f"A time of day is a string such as '9am' or '18:00', not {text!r}")
    lowered = text.strip().lower()
    if lowered == "noon":
        return 12, 0
    if lowered == "midnight":
        return 0, 0
    match = _TIME.match(lowered)
    if not match:
        raise CronError(f"{text!r} is not a time of day: use '9am', '9:30pm', '18:00', 'noon' or 'midnight'")
    hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if minute > 59:
        raise CronError(f"{text!r}: minutes run 0-59")
    if meridiem:
        if not 1 <= hour <= 12:
            raise CronError(f"{text!r}: with am/pm the hour is 1-12")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif hour > 23:
        raise CronError(f"{text!r}: hours run 0-23")
    return hour, minute


@dataclass(frozen=True)
class ScheduleSpec:
    """A cron expression and its time zone, ready to attach to a handler."""

    cron: str
    tz: str | None = None
    register: Register | None = None

    def __post_init__(self) -> None:
        # The cron parser loads with the first schedule, not with every app (ADR 0036).
        from dotdo.workflows.cron import parse_cron, resolve_zone

        parse_cron(self.cron)
        resolve_zone(self.tz)

    def __call__(self, handler: Any) -> Any:
        if self.register is None:
            specs = getattr(handler, SCHEDULES_MARK, ())
            setattr(handler, SCHEDULES_MARK, (*specs, ScheduleSpec(self.cron, self.tz)))
            return handler
        return self.register(self, handler)


class _Days:
    def __init__(self, owner: Every, weekdays: str) -> None:
        self._owner = owner
        self._weekdays = weekdays

    def at(self, time_of_day: str, tz: str | None = None) -> ScheduleSpec:
        hour, minute = parse_time_of_day(time_of_day)
        return self._owner.spec(f"{minute} {hour} * * {self._weekdays}", tz)

    def __getattr__(self, name: str) -> ScheduleSpec:
        match = _AT_NAME.match(name)
        if not match:
            raise AttributeError(f"{name!r}: use .at('9am') or .at9am / .at930am")
        return self.at(f"{match.group(1)}:{match.group(2) or '00'}{match.group(3)}")

    def __call__(self, handler: Any) -> Any:
        """`@every.day` alone: at midnight."""
        return self.at("midnight")(handler)


class _Interval:
    def __init__(self, owner: Every, count: int) -> None:
        self._owner = owner
        self._count = count

    def _step(self, unit: str, limit: int) -> int:
        if not 1 <= self._count <= limit:
            raise CronError(
                f"every({self._count}).{unit}: cron repeats {unit} from 1 to {limit}"
                + (
                    f"; use every({self._count // 60}).hours"
                    if unit == "minutes" and self._count % 60 == 0
                    else ""
                )
            )
        if limit % self._count and self._count != 1:
            # */7 minutes fires at :00, :07 ... :56 and again at :00: not every 7 minutes.
            raise CronError(
                f"every({self._count}).{unit}: {self._count} does not divide {limit}, "
                "so cron cannot repeat it evenly"
            )
        return self._count

    @property
    def minutes(self) -> ScheduleSpec:
        step = self._step("minutes", 60)
        if step == 60:
            return self._owner.spec("0 * * * *")
        return self._owner.spec("* * * * *" if step == 1 else f"*/{step} * * * *")

    @property
    def hours(self) -> ScheduleSpec:
        step = self._step("hours", 24)
        if step == 24:
            return self._owner.spec("0 0 * * *")
        return self._owner.spec("0 * * * *" if step == 1 else f"0 */{step} * * *")


class Every:
    """The DSL root: attributes for days, `every(n)` for intervals, `every.cron(...)`.

    `register(spec, handler)`, when given (`self.every`), is what applying a schedule to
    a handler does; without it (the module's `every`) the schedule marks the method."""

    def __init__(self, register: Register | None = None) -> None:
        self._register = register

    def spec(self, cron: str, tz: str | None = None) -> ScheduleSpec:
        """A schedule from a cron expression and an IANA time zone (None: UTC); CronError
        when either is not valid."""
        return ScheduleSpec(cron, tz, self._register)

    def __call__(self, count: int) -> _Interval:
        if not isinstance(count, int) or isinstance(count, bool):
            raise CronError(f"every(n) takes a whole number, not {count!r}")
        return _Interval(self, count)

    def cron(self, expression: str, tz: str | None = None) -> ScheduleSpec:
        """`every.cron("*/15 9-17 * * 1-5", tz="Europe/Oslo")`: the expression as given."""
        return self.spec(expression, tz)

    @property
    def minute(self) -> ScheduleSpec:
        """Every minute (`* * * * *`)."""
        return self.spec("* * * * *")

    @property
    def hour(self) -> ScheduleSpec:
        """Every hour, on the hour (`0 * * * *`)."""
        return self.spec("0 * * * *")

    def __getattr__(self, name: str) -> _Days:
        if name in _DAY_SETS:
            return _Days(self, _DAY_SETS[name])
        raise AttributeError(
            f"every.{name}: use day, weekday, weekend, Monday..Sunday, minute, hour, every(n) or cron"
        )


every = Every()
"""Mark methods of a DOWorkflow class as durable schedules: `@every.day.at("9am")`."""
