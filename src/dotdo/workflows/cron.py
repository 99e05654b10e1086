"""A five-field cron evaluator: parse an expression, find its next fire time.

    minute hour day-of-month month day-of-week
    */5    9-17 *            *     MON-FRI

Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and
names (`JAN`-`DEC`, `SUN`-`SAT`; 7 is Sunday too). When both day fields are
restricted a day matches either (as in Vixie cron). Times are UTC unless a time
zone is given; then wall-clock times that do not exist (spring forward) fire
as soon as the gap ends, and times that occur twice (fall back) fire once, at
the first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotdo.errors import CronError

__all__ = ["CronError", "CronExpression", "parse_cron", "resolve_zone"]

_MONTHS = {
    name: i
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_SEARCH_YEARS = 8  # far enough for 29 February on a given weekday


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number" + (" or a name" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name}: empty list item in {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(f"{name}: step {step_text!r} is not a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, name, low, high, names), _value(last, name, low, high, names)
            if start > end:
                raise CronError(f"{name}: range {base!r} runs backwards")
        else:
            start = _value(base, name, low, high, names)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpression:
    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7
        in_days, in_weekdays = moment.day in self.days, weekday in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def _next_wall_time(self, start: datetime) -> datetime:
        """The first wall-clock minute at or after `start` (naive) that matches."""
        moment = start.replace(second=0, microsecond=0)
        limit = start + timedelta(days=366 * _SEARCH_YEARS)
        while moment <= limit:
            if moment.month not in self.months:
                year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
                moment = moment.replace(year=year, month=month, day=1, hour=0, minute=0)
            elif not self._day_matches(moment):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            elif moment.hour not in self.hours:
                moment = (moment + timedelta(hours=1)).replace(minute=0)
            elif moment.minute not in self.minutes:
                moment += timedelta(minutes=1)
            else:
                return moment
        raise CronError(f"{self.source!r} never fires")

    def next_after(self, after_ms: int, zone: ZoneInfo | None = None) -> int:
        """The first fire time strictly after `after_ms` (epoch ms), in epoch ms."""
        instant = datetime.fromtimestamp(after_ms / 1000, UTC)
        if zone is None:
            start = instant.replace(tzinfo=None) + timedelta(minutes=1)
            return int(self._next_wall_time(start).replace(tzinfo=UTC).timestamp() * 1000)
        start = instant.astimezone(zone).replace(tzinfo=None) + timedelta(minutes=1)
        while True:
            wall = self._next_wall_time(start)
            fire_ms = int(wall.replace(tzinfo=zone, fold=0).timestamp() * 1000)
            if fire_ms > after_ms:
                return fire_ms
            start = wall + timedelta(minutes=1)  # the first occurrence of a repeated hour has passed


def parse_cron(expression: str) -> CronExpression:
    if not isinstance(expression, str):
        raise CronError("a cron expression is a string")
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(f"{expression!r}: a cron expression has 5 fields (minute hour day month weekday)")
    fields = [_field(text, *spec) for text, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in fields[4])
    expr = CronExpression(
        source=" ".join(parts),
        minutes=fields[0],
        hours=fields[1],
        days=fields[2],
        months=fields[3],
        weekdays=weekdays,
        # As in Vixie cron, a day field that starts with "*" (also "*/2") does not restrict.
        days_restricted=not parts[2].startswith("*"),
        weekdays_restricted=not parts[4].startswith("*"),
    )
    if not expr.days_restricted or expr.weekdays_restricted:
        return expr
    longest = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
    if not any(day <= longest[month] for day in expr.days for month in expr.months):
        raise CronError(f"{expression!r} never fires: no chosen month has the chosen days")
    return expr


def resolve_zone(name: str | None) -> ZoneInfo | None:
    """The time zone called `name` (None and "UTC" mean UTC); CronError if unknown."""
    if name is None or name.upper() == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"Unknown time zone {name!r}") from exc
