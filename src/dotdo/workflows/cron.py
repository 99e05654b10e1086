"""A five-field cron evaluator: parse an expression, find its next fire time.

    minute hour day-of-month month day-of-week
    */5    9-17 *            *     MON-FRI

Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and
names (`JAN`-`DEC`, `SUN`-`SAT`; 7 is Sunday too). When both day fields are
restricted a day matches either (as in Vixie cron). Times are UTC unless a time
zone is given; then daylight-saving changes follow Vixie/ISC cron, which
treats wildcard and fixed-time jobs apart (`cron.c`: `find_jobs` with `doWild`
and `doNonWild`), with one addition for the instant the clock is changed:

- A *wildcard* job, one whose minute or hour field starts with `*` (`*`, `*/15`,
  `*,30`; Vixie's `MIN_STAR` / `HR_STAR`), runs by real elapsed time: at every
  instant the wall clock shows a matching minute, so both passes through a
  repeated hour count and the minutes a spring-forward skips do not. At the
  instant the clock is changed it shows two times, the one it reaches (02:00)
  and the one it is set to (01:00 or 03:00); the job fires there, once, if
  either matches. So `*/15` and `0 * * * *` never go longer than their period
  without firing, even across a 30-minute shift (Australia/Lord_Howe).
- A *fixed-time* job (both fields start with a digit: `30 1 * * *`, `0 9-17 * * *`,
  `0-59/15 1 * * *`) fires once per matching wall-clock time: in a repeated hour
  the first time only, and a time that a spring-forward skips fires when the gap
  ends, once however many of its times the gap held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dotdo.errors import CronError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

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
_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)
_CHANGE_STEP = 86400  # seconds between offset samples when looking for a change


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not (text.isascii() and text.isdigit()):  # `isdigit` alone passes "²" and "٣"
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
            if not (step_text.isascii() and step_text.isdigit()) or int(step_text) < 1:
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
    """A parsed expression: the sets of matching values per field, made by `parse_cron`."""

    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool
    wildcard: bool = False
    """The minute or the hour field starts with `*`: the job runs by real elapsed time
    across daylight-saving changes (Vixie cron's `MIN_STAR` / `HR_STAR`)."""

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
                later = next((m for m in range(moment.minute + 1, 60) if m in self.minutes), None)
                if later is None:
                    moment = (moment + timedelta(hours=1)).replace(minute=0)
                else:
                    moment = moment.replace(minute=later)
            else:
                return moment
        raise CronError(f"{self.source!r} never fires")

    def next_after(self, after_ms: int, zone: ZoneInfo | None = None) -> int:
        """The first fire time strictly after `after_ms` (epoch ms), in epoch ms.

        `zone` None is UTC; with a zone, daylight-saving changes follow the rules in
        this module's docstring (`wildcard` tells which one applies)."""
        if zone is None:
            instant = datetime.fromtimestamp(after_ms / 1000, UTC)
            start = instant.replace(tzinfo=None) + timedelta(minutes=1)
            return int(self._next_wall_time(start).replace(tzinfo=UTC).timestamp() * 1000)
        after_s = after_ms // 1000  # fire times are whole minutes: flooring loses none
        if self.wildcard:
            return self._next_real_time(after_s, zone) * 1000
        return self._next_fixed_time(after_s, zone) * 1000

    def _next_fixed_time(self, after_s: int, zone: ZoneInfo) -> int:
        """A fixed-time job: each matching wall time once, at its first occurrence or,
        when a spring-forward skips it, at the end of the gap."""
        wall = _wall(after_s, zone) + _MINUTE
        while True:
            wall = self._next_wall_time(wall)
            fire = _instant(wall, zone, fold=0)
            if _wall(fire, zone) != wall:  # skipped: `fire` lies after the gap, fold=1 before
                fire = _transition(zone, _instant(wall, zone, fold=1), fire)
            if fire > after_s:
                return fire
            # A time already passed: its first occurrence (a repeated hour), or a gap
            # whose end fired for an earlier time of the same gap.
            wall += _MINUTE

    def _next_real_time(self, after_s: int, zone: ZoneInfo) -> int:
        """A wildcard job: the first instant after `after_s` at which the wall clock
        shows a matching minute, walking from one offset to the next: at a change
        the clock shows both its old and its new reading."""
        moment = after_s
        while True:
            wall = _wall(moment, zone)
            fire = moment + int((self._next_wall_time(wall + _MINUTE) - wall).total_seconds())
            change = _first_change(zone, moment, fire)
            if change is None:
                return fire
            if self._matches(_wall(change - 1, zone) + _SECOND) or self._matches(_wall(change, zone)):
                return change
            moment = change

    def _matches(self, wall: datetime) -> bool:
        return wall.second == 0 and self._next_wall_time(wall) == wall


def _wall(epoch_s: int, zone: ZoneInfo) -> datetime:
    """What the wall clock in `zone` shows at `epoch_s` (naive)."""
    return datetime.fromtimestamp(epoch_s, zone).replace(tzinfo=None)


def _instant(wall: datetime, zone: ZoneInfo, fold: int) -> int:
    """Epoch seconds of a naive wall time; PEP 495 `fold` picks the offset before (0)
    or after (1) a transition, for a repeated and for a skipped time alike."""
    return int(wall.replace(tzinfo=zone, fold=fold).timestamp())


def _offset(epoch_s: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(epoch_s, zone).utcoffset()


def _first_change(zone: ZoneInfo, start: int, end: int) -> int | None:
    """The first instant in (`start`, `end`] at which the offset differs from the one at
    `start`, or None. Offsets are sampled a day apart, then bisected to the second:
    since 2000, no zone in tzdata has changed offset twice within a week."""
    offset = _offset(start, zone)
    low = start
    for high in (*range(start + _CHANGE_STEP, end, _CHANGE_STEP), end):
        if _offset(high, zone) != offset:
            return _transition(zone, low, high)
        low = high
    return None


def _transition(zone: ZoneInfo, before: int, after: int) -> int:
    """The instant in (`before`, `after`] at which the offset changes, to the second;
    the offsets at the two ends differ and one change lies between."""
    target = _offset(after, zone)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset(middle, zone) == target:
            after = middle
        else:
            before = middle
    return after


def parse_cron(expression: str) -> CronExpression:
    """The five fields of a cron expression (minute hour day month weekday, Vixie cron's
    syntax: `*`, lists, ranges, `/` steps, names such as `Mon` and `Jan`); CronError (400
    `invalid_schedule`) naming what is wrong."""
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
        wildcard=parts[0].startswith("*") or parts[1].startswith("*"),
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
    # Imported here, not with the module: zoneinfo (and the sysconfig data it reads) is
    # ~35 ms of a cold start under Pyodide, and only a schedule with a time zone needs it.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        meant = _closest_zone(name)
        hint = f"; did you mean {meant!r}?" if meant else ""
        raise CronError(f"Unknown time zone {name!r}{hint}") from exc


def _closest_zone(name: str) -> str | None:
    """The known time zone closest to `name` (`Europe/Olso` -> `Europe/Oslo`; case aside),
    or None. Only on the error path: the list is the whole tz database's names."""
    import difflib
    from zoneinfo import available_timezones

    zones = {zone.lower(): zone for zone in available_timezones()}
    close = difflib.get_close_matches(name.lower(), list(zones), n=1, cutoff=0.8)
    return zones[close[0]] if close else None
