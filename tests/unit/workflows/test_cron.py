"""The cron evaluator: parsing, next fire times across month ends, leap years and DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

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
    assert next_fire("30 2 * * *", "2026-03-29 00:00", oslo) == "2026-03-29 03:30"
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
