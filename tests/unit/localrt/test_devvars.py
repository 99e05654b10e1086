"""`.dev.vars` read as wrangler reads it (its bundled dotenv 16.3.1 `parse`): each case's
expected value is what that function returned for the same text under node."""

from __future__ import annotations

from pathlib import Path

import pytest

from dotdo.localrt.devvars import parse_dotenv, read_dev_vars


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("DOTDO_SECRET=abc+/==\n", {"DOTDO_SECRET": "abc+/=="}),
        ("export DOTDO_SECRET=abc", {"DOTDO_SECRET": "abc"}),
        ("A = spaced value  \n", {"A": "spaced value"}),
        ('A="quoted # not a comment"\n', {"A": "quoted # not a comment"}),
        ("A='single'\nB=`back`", {"A": "single", "B": "back"}),
        ('A="multi\nline"', {"A": "multi\nline"}),
        ('A="esc\\nnew"', {"A": "esc\nnew"}),
        ("A='esc\\nraw'", {"A": "esc\\nraw"}),
        ("A=x # comment", {"A": "x"}),
        ("A=x#nospace", {"A": "x"}),
        ("# comment\n\nA=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("A: colon", {"A": "colon"}),
        ("A:nocolon", {}),
        ("A=b=c", {"A": "b=c"}),
        ("A=", {"A": ""}),
        ("A", {}),
        ("BAD KEY=1", {}),
        ("a.b-c=1", {"a.b-c": "1"}),
        ("A=1\nA=2", {"A": "2"}),
        ('  A  =  " padded "  ', {"A": " padded "}),
        ('A="unterminated', {"A": '"unterminated'}),
        ("A=''", {"A": ""}),
        ("\u00c5=1", {}),
        ('A="a\\"b"', {"A": 'a\\"b'}),
        ("A=1\n B=2", {"A": "1", "B": "2"}),
    ],
)
def test_parses_as_wranglers_dotenv(text: str, parsed: dict[str, str]) -> None:
    assert parse_dotenv(text) == parsed


def test_read_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    config = tmp_path / "deploy" / "wrangler.toml"
    assert read_dev_vars(config) is None
    (tmp_path / "deploy" / ".dev.vars").write_text("DOTDO_SECRET=s\n")
    assert read_dev_vars(config) == {"DOTDO_SECRET": "s"}
