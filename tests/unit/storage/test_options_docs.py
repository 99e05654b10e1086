"""docs/api.md lists every field of `TierOptions` and `ArchiveOptions` with its default, so
the tables a user configures from stay the dataclasses' own."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dotdo.storage.options import ArchiveOptions, TierOptions

API = Path(__file__).parents[3] / "docs" / "api.md"


def _table(title: str) -> dict[str, str]:
    """The rows of the field table after `**title**` in api.md, by field name."""
    text = API.read_text(encoding="utf-8")
    after = text[text.index(f"**`{title}`**") :]
    lines = after[after.index("| field |") :].splitlines()
    rows = {}
    for line in lines[2:]:
        if not line.startswith("| `"):
            break
        rows[line.split("`")[1]] = line
    return rows


def _shown(default: object) -> str:
    if default is None:
        return "`None`"
    if isinstance(default, str):
        return f'`"{default}"`'
    assert isinstance(default, int)
    return f"{default:,}"


@pytest.mark.parametrize("options", [TierOptions, ArchiveOptions])
def test_every_field_is_listed_with_its_default(options: type) -> None:
    rows = _table(options.__name__)
    fields = dataclasses.fields(options)
    assert sorted(rows) == sorted(field.name for field in fields)
    for field in fields:
        default = _shown(field.default)
        assert f"| {default}" in rows[field.name], (field.name, default)
