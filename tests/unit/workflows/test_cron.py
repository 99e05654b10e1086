"""The cron evaluator: parsing, next fire times across month ends, leap years and DST."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import CronError, parse_cron
from dotdo.workflows.cron import resolve_zone


def ms(text: str, zone: str | None = None) -> int:
    moment = datetime.fromisoformat(text)
    moment = moment.replace(tzinfo=ZoneInfo(zone) if zone else UTC)
    return int(moment.timestamp() * 1000)


def iso(epoch_ms: int, zone: str | None = None) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, ZoneInfo(zone) if zone else UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def next_fire(expression: str, after: str, zone: str | None = None) -> str:
    return iso(parse_cron(expression).next_after(ms(after, zone), resolve_zone(zone)), zone)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/5 * * * *", "2026-01-01 10:02", "2026-01-01 10:05"),
        ("*/5 * * * *", "2026-01-01 10:05", "2026-01-01 10:10"),  # strictly after
        ("0 9 * * 1", "2026-11-24 10:00", "2026-11-30 09:00"),  # Tuesday -> next Monday
        ("0 18 * * *", "2026-12-31 18:00", "2027-01-01 18:00"),  # year end
        ("0 0 31 * *", "2026-04-01 00:00", "2026-05-31 00:00"),  # April has no 31st
        ("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"),  # leap day
        ("0 0 1 * *", "2026-01-31 12:00", "2026-02-01 00:00"),  # month end
        ("30 9 * * 1-5", "2026-11-27 10:00", "2026-11-30 09:30"),  # Friday after -> Monday
        ("0 12 * * SUN", "2026-11-24 00:00", "2026-11-29 12:00"),
        ("0 12 * * 7", "2026-11-24 00:00", "2026-11-29 12:00"),  # 7 is Sunday too
        ("0 0 1,15 * *", "2026-11-02 00:00", "2026-11-15 00:00"),
        ("0 0 13 * 5", "2026-11-01 00:00", "2026-11-06 00:00"),  # day OR weekday: first Friday
        ("15 10 * JAN-MAR *", "2026-04-01 00:00", "2027-01-01 10:15"),
        ("0 */6 * * *", "2026-01-01 13:00", "2026-01-01 18:00"),
        ("5-10/5 * * * *", "2026-01-01 10:06", "2026-01-01 10:10"),
    ],
)
def test_next_fire_in_utc(expression: str, after: str, expected: str) -> None:
    assert next_fire(expression, after) == expected


def test_time_zones_and_daylight_saving() -> None:
    oslo = "Europe/Oslo"
    assert next_fire("0 9 * * *", "2026-03-28 10:00", oslo) == "2026-03-29 09:00"
    # 02:30 does not exist on 2026-03-29 in Oslo (02:00 -> 03:00): it fires as the gap ends
    assert next_fire("30 2 * * *", "2026-03-29 00:00", oslo) == "2026-03-29 03:00"
    # 02:30 happens twice on 2026-10-25 (03:00 -> 02:00): it fires once, the first time
    first = parse_cron("30 2 * * *").next_after(ms("2026-10-25 00:00", oslo), ZoneInfo(oslo))
    second = parse_cron("30 2 * * *").next_after(first, ZoneInfo(oslo))
    assert iso(first, oslo) == "2026-10-25 02:30"
    assert iso(second, oslo) == "2026-10-26 02:30"
    # 9am New York is 14:00 UTC in winter and 13:00 UTC in summer
    assert (
        iso(parse_cron("0 9 * * *").next_after(ms("2026-01-10 00:00"), ZoneInfo("America/New_York")))
        == "2026-01-10 14:00"
    )
    assert (
        iso(parse_cron("0 9 * * *").next_after(ms("2026-07-10 00:00"), ZoneInfo("America/New_York")))
        == "2026-07-10 13:00"
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "5 fields"),
        ("60 * * * *", "outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("* * 0 * *", "outside 1-31"),
        ("* * * 13 *", "outside 1-12"),
        ("* * * * 8", "outside 0-7"),
        ("*/0 * * * *", "not a positive number"),
        ("5-1 * * * *", "runs backwards"),
        ("a * * * *", "not a number"),
        ("1,,2 * * * *", "empty list item"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
    ],
)
def test_invalid_expressions(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(expression)


def test_unknown_time_zone() -> None:
    with pytest.raises(CronError, match="Unknown time zone"):
        resolve_zone("Mars/Olympus_Mons")
    assert resolve_zone("UTC") is None and resolve_zone(None) is None


@pytest.mark.parametrize(
    ("name", "meant"),
    [("Europe/Olso", "Europe/Oslo"), ("america/new_york", "America/New_York"), ("Asia/Tokio", "Asia/Tokyo")],
)
def test_an_unknown_time_zone_suggests_the_closest_known_one(name: str, meant: str) -> None:
    with pytest.raises(CronError) as refused:
        resolve_zone(name)
    assert str(refused.value) == f"Unknown time zone {name!r}; did you mean {meant!r}?"


def test_a_time_zone_like_no_known_one_gets_no_suggestion() -> None:
    with pytest.raises(CronError) as refused:
        resolve_zone("Mars/Olympus_Mons")
    assert str(refused.value) == "Unknown time zone 'Mars/Olympus_Mons'"


# -- daylight saving: Vixie cron's wildcard and fixed-time rules ----------------


def firings(expression: str, zone: str, start: str, end: str) -> list[str]:
    """Every fire time in [start, end) (UTC), as UTC "HH:MM"."""
    cron, tz = parse_cron(expression), ZoneInfo(zone)
    at, stop, out = ms(start) - 1, ms(end), []
    while (at := cron.next_after(at, tz)) < stop:
        out.append(iso(at)[11:])
    return out


def test_frequent_jobs_keep_firing_through_the_new_york_fall_back() -> None:
    # 2025-11-02: 02:00 EDT (06:00Z) becomes 01:00 EST; 01:00-01:59 happens twice.
    quarter = firings("*/15 * * * *", "America/New_York", "2025-11-02 05:00", "2025-11-02 07:30")
    assert quarter == [f"{h:02}:{m:02}" for h in (5, 6, 7) for m in (0, 15, 30, 45)][:10]
    assert firings("0 * * * *", "America/New_York", "2025-11-02 04:00", "2025-11-02 09:00") == [
        "04:00", "05:00", "06:00", "07:00", "08:00"
    ]  # fmt: skip
    # A fixed time in the repeated hour fires once, the first time (01:30 EDT).
    assert firings("30 1 * * *", "America/New_York", "2025-11-01 12:00", "2025-11-03 12:00") == [
        "05:30", "06:30"
    ]  # fmt: skip


def test_spring_forward_fires_each_real_instant_and_skipped_fixed_times_at_the_gap_end() -> None:
    # 2025-03-09: 02:00 EST (07:00Z) becomes 03:00 EDT.
    quarter = firings("*/15 * * * *", "America/New_York", "2025-03-09 06:30", "2025-03-09 07:31")
    assert quarter == ["06:30", "06:45", "07:00", "07:15", "07:30"]
    assert firings("0 * * * *", "America/New_York", "2025-03-09 05:00", "2025-03-09 09:00") == [
        "05:00", "06:00", "07:00", "08:00"
    ]  # fmt: skip
    # 02:00 and 02:30 do not exist that day: one firing at 03:00 EDT (07:00Z), also when
    # 03:00 itself matches; 03:30 EDT (07:30Z) is past the window.
    for expression in ("30 2 * * *", "0,30 2 * * *", "0,30 2,3 * * *"):
        day = firings(expression, "America/New_York", "2025-03-09 05:00", "2025-03-09 07:29")
        assert day == ["07:00"], expression


def test_a_thirty_minute_shift_lord_howe() -> None:
    # 2025-04-06 02:00 +11 (15:00Z, 5 April) becomes 01:30 +10:30; 2025-10-05 02:00 +10:30
    # (15:30Z, 4 October) becomes 02:30 +11.
    zone = "Australia/Lord_Howe"
    assert firings("0 * * * *", zone, "2025-04-05 13:00", "2025-04-05 17:00") == [
        "13:00", "14:00", "15:00", "15:30", "16:30"
    ]  # fmt: skip
    assert firings("0 * * * *", zone, "2025-10-04 13:00", "2025-10-04 17:00") == [
        "13:30", "14:30", "15:30", "16:00"
    ]  # fmt: skip
    assert firings("*/15 * * * *", zone, "2025-04-05 14:30", "2025-04-05 15:31") == [
        "14:30", "14:45", "15:00", "15:15", "15:30"
    ]  # fmt: skip
    assert firings("15 2 * * *", zone, "2025-10-04 12:00", "2025-10-05 18:00") == ["15:30", "15:15"]
    assert firings("45 1 * * *", zone, "2025-04-05 12:00", "2025-04-06 18:00") == ["14:45", "15:15"]


@pytest.mark.parametrize(
    ("expression", "wildcard"),
    [
        ("* * * * *", True),
        ("*/15 * * * *", True),
        ("0 * * * *", True),
        ("0 */2 * * *", True),
        ("*/15 9-17 * * 1-5", True),
        ("*,30 1 * * *", True),
        ("30 1 * * *", False),
        ("0 9-17 * * *", False),
        ("0-59/15 1 * * *", False),
        ("0,30 1,2 * * *", False),
    ],
)
def test_wildcard_jobs_are_those_whose_minute_or_hour_starts_with_a_star(
    expression: str, wildcard: bool
) -> None:
    assert parse_cron(expression).wildcard is wildcard


ZONES = [
    "America/New_York",
    "Europe/London",
    "Europe/Dublin",  # negative daylight saving in tzdata: winter is the "summer" offset
    "Australia/Lord_Howe",  # 30-minute shift
    "Australia/Sydney",
    "America/Santiago",  # changes at midnight
    "America/Havana",
    "Asia/Kolkata",  # no changes
    "UTC",
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Auckland",
    "Antarctica/Troll",  # 2-hour shift
    "Africa/Cairo",
    "America/Asuncion",
    "America/Nuuk",  # changes at 23:00 -> 00:00: the gap crosses midnight
]
PERIODS = {"* * * * *": 1, "*/5 * * * *": 5, "*/15 * * * *": 15, "*/20 * * * *": 20, "0 * * * *": 60}


def offset_at(epoch_s: int, zone: ZoneInfo) -> timedelta:
    offset = datetime.fromtimestamp(epoch_s, zone).utcoffset()
    assert offset is not None
    return offset


def wall_at(epoch_s: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(epoch_s, zone).replace(tzinfo=None)


@functools.cache
def changes(zone: ZoneInfo, year: int) -> list[int]:
    """The instants (epoch s) at which `zone` changes offset during `year`."""
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    found = []
    for low in range(start, end, 6 * 3600):
        high = low + 6 * 3600
        if offset_at(low, zone) != offset_at(high, zone):
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (
                    (low, middle) if offset_at(middle, zone) == offset_at(high, zone) else (middle, high)
                )
            found.append(high)
    return found


def shows(epoch_s: int, zone: ZoneInfo) -> set[datetime]:
    """The wall times the clock shows at `epoch_s`: two at the instant it is changed."""
    return {wall_at(epoch_s, zone), wall_at(epoch_s - 1, zone) + timedelta(seconds=1)}


@functools.cache
def matches(expression: str, wall: datetime) -> bool:
    """Does `wall` match, by the UTC evaluator (no daylight saving involved)?"""
    just_before = int(wall.replace(tzinfo=UTC).timestamp() * 1000) - 1
    return parse_cron(expression).next_after(just_before) == just_before + 1


@settings(max_examples=150)
@given(
    zone_name=st.sampled_from(ZONES),
    year=st.integers(2020, 2035),
    expression=st.sampled_from(sorted(PERIODS)),
    pick=st.integers(0, 1000),
    lead=st.integers(0, 6 * 60),
)
def test_wildcard_jobs_fire_at_every_matching_instant_and_never_go_quiet(
    zone_name: str, year: int, expression: str, pick: int, lead: int
) -> None:
    zone = ZoneInfo(zone_name)
    tz = resolve_zone(zone_name)
    around = changes(zone, year)
    middle = around[pick % len(around)] if around else int(datetime(year, 7, 1, tzinfo=UTC).timestamp())
    start, end = middle - lead * 60, middle + 6 * 3600
    cron, period = parse_cron(expression), PERIODS[expression] * 60
    fired, at = [], start * 1000
    while (at := cron.next_after(at, tz)) < end * 1000:
        fired.append(at // 1000)
    assert fired, "a wildcard job fires within six hours"
    assert fired[0] - start <= period
    gaps = [b - a for a, b in itertools.pairwise(fired)]
    assert all(0 < gap <= period for gap in gaps), (zone_name, expression, [iso(t * 1000) for t in fired])
    # ... and exactly at the instants the clock shows a matching minute (brute force).
    expected = [
        t
        for t in range(start + 60 - start % 60, end, 60)
        if any(matches(expression, w) for w in shows(t, zone))
    ]
    assert fired == expected


@settings(max_examples=150)
@given(
    zone_name=st.sampled_from(ZONES),
    year=st.integers(2020, 2035),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 1, 15, 29, 30, 45, 59]),
    pick=st.integers(0, 1000),
)
def test_fixed_time_jobs_fire_once_per_day_at_the_first_occurrence_or_the_gap_end(
    zone_name: str, year: int, hour: int, minute: int, pick: int
) -> None:
    zone = ZoneInfo(zone_name)
    tz = resolve_zone(zone_name)
    around = changes(zone, year)
    middle = around[pick % len(around)] if around else int(datetime(year, 7, 1, tzinfo=UTC).timestamp())
    first_day = datetime.fromtimestamp(middle, zone).date() - timedelta(days=2)
    days = [first_day + timedelta(days=n) for n in range(5)]
    start = int(datetime.combine(days[0], datetime.min.time(), zone).timestamp())
    end = int(datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), zone).timestamp())
    cron = parse_cron(f"{minute} {hour} * * *")
    fired, at = [], start * 1000 - 1
    while (at := cron.next_after(at, tz)) < end * 1000:
        fired.append(at // 1000)
    # One firing per day, standing for that day's wall time (a skipped 23:00 can fire
    # at 00:00 the next day, when the gap crosses midnight as in America/Nuuk).
    assert len(fired) == len(days)
    for day, instant in zip(days, fired, strict=True):
        wall = datetime(day.year, day.month, day.day, hour, minute)
        near = int(wall.replace(tzinfo=UTC).timestamp()) - int(offset_at(middle, zone).total_seconds())
        occurrences = [t for t in range(near - 3 * 3600, near + 3 * 3600, 60) if wall_at(t, zone) == wall]
        if occurrences:  # the first, when a fall-back repeats it
            assert instant == occurrences[0]
        else:  # skipped by a spring-forward: the instant the gap ends
            assert wall_at(instant - 60, zone) < wall < wall_at(instant, zone)
            assert offset_at(instant - 1, zone) != offset_at(instant, zone)


@pytest.mark.parametrize(
    "expression", ["\u00b2 * * * *", "*/\u00b2 * * * *", "1-\u00b2 * * * *", "\u0663 * * * *"]
)
def test_only_ascii_digits_are_numbers(expression: str) -> None:
    """`str.isdigit` passes a superscript two (which `int()` then refuses, a ValueError)
    and other scripts' digits (which `int()` reads): a cron number is ASCII digits."""
    with pytest.raises(CronError, match="is not a"):
        parse_cron(expression)
