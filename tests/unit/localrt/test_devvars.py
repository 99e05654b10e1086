"""`.dev.vars` read as wrangler reads it (its bundled dotenv 16.3.1 `parse`): each case's
expected value is what that function returned for the same text under node, and
`test_every_case_reads_as_wrangler_reads_it` checks them all against wrangler itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dotdo.localrt.devvars import local_vars_files, parse_dotenv, read_dev_vars
from dotdo.localrt.node import npm_packages

ROOT = Path(__file__).resolve().parents[3]

CASES = [
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
    # JavaScript's white space, which Python's `\s` is not: a file saved "UTF-8 with BOM"
    # gave `dotdo token mint` no secret where wrangler served one.
    ("\ufeffDOTDO_SECRET=bom\n", {"DOTDO_SECRET": "bom"}),
    ("\ufeff# comment\nA=1", {"A": "1"}),
    ("\u00a0A=nbsp", {"A": "nbsp"}),
    ("A=\ufeffzw", {"A": "zw"}),
    ("A=\u2003em\u2003", {"A": "em"}),
    ("A=\u3000ideo", {"A": "ideo"}),
    ("A=\x0bvt", {"A": "vt"}),
    ("A=a\u2028b\nB=1", {"A": "a\u2028b", "B": "1"}),
    ("A=1 #c\u2028B=2", {"A": "1", "B": "2"}),
    ("A=x\u0085", {"A": "x\u0085"}),  # NEL: Python's white space, not JavaScript's
]


@pytest.mark.parametrize(("text", "parsed"), CASES)
def test_parses_as_wranglers_dotenv(text: str, parsed: dict[str, str]) -> None:
    assert parse_dotenv(text) == parsed


def test_read_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    config = tmp_path / "deploy" / "wrangler.toml"
    assert read_dev_vars(config) is None
    (tmp_path / "deploy" / ".dev.vars").write_text("DOTDO_SECRET=s\n")
    assert read_dev_vars(config) == {"DOTDO_SECRET": "s"}


def test_without_a_dev_vars_the_env_files_are_read_as_wrangler_chooses(tmp_path: Path) -> None:
    """`dotdo dev` served `.env` with wrangler (which reads it when there is no `.dev.vars`),
    but `dotdo token mint` did not read it: its tokens were signed with no secret of the
    server's."""
    config = tmp_path / "wrangler.toml"
    (tmp_path / ".env").write_text("DOTDO_SECRET=from-env\nA=1\n")
    assert read_dev_vars(config, {}) == {"DOTDO_SECRET": "from-env", "A": "1"}
    (tmp_path / ".env.local").write_text("DOTDO_SECRET=from-env-local\n")
    assert read_dev_vars(config, {}) == {"DOTDO_SECRET": "from-env-local", "A": "1"}
    assert local_vars_files(config, {}) == (tmp_path / ".env", tmp_path / ".env.local")
    assert read_dev_vars(config, {"CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV": "false"}) is None
    (tmp_path / ".dev.vars").write_text("DOTDO_SECRET=from-dev-vars\n")
    assert read_dev_vars(config, {}) == {"DOTDO_SECRET": "from-dev-vars"}  # never both


def test_bytes_that_are_not_utf8_read_as_node_reads_them(tmp_path: Path) -> None:
    """Wrangler reads them as U+FFFD; this was a UnicodeDecodeError (`dotdo token mint`: a
    usage error) where wrangler served the file."""
    (tmp_path / ".dev.vars").write_bytes(b"\xef\xbb\xbfA=\xff1\nB=2\n")
    assert read_dev_vars(tmp_path / "wrangler.toml") == {"A": "\ufffd1", "B": "2"}


WRANGLER_READS = """
const wrangler = require(process.argv[1]);
const read = (config) => wrangler.unstable_getVarsForDev(config, undefined, {}, undefined, true);
const values = (vars) => Object.fromEntries(Object.entries(vars).map(([name, { value }]) => [name, value]));
console.log(JSON.stringify(process.argv.slice(2).map((config) => values(read(config)))));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_every_case_reads_as_wrangler_reads_it(tmp_path: Path) -> None:
    """Each case written as a project's `.dev.vars` (as bytes, so a BOM stays one) and read by
    wrangler's own `unstable_getVarsForDev`, which `wrangler dev` reads it with."""
    files = [text.encode() for text, _ in CASES] + [b"\xef\xbb\xbfA=\xff1\nB=\xc3(2\n"]
    configs = []
    for number, data in enumerate(files):
        (tmp_path / str(number)).mkdir()
        (tmp_path / str(number) / ".dev.vars").write_bytes(data)
        configs.append(tmp_path / str(number) / "wrangler.toml")
    wrangler = npm_packages(ROOT) / "wrangler"
    script = ["node", "-e", WRANGLER_READS, str(wrangler), *map(str, configs)]
    wranglers = json.loads(
        subprocess.run(script, capture_output=True, text=True, check=True, timeout=120).stdout
    )
    assert [read_dev_vars(config) for config in configs] == wranglers


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_files_are_chosen_as_wrangler_chooses_them(tmp_path: Path) -> None:
    """Which of `.dev.vars`, `.env` and `.env.local` wrangler's own `unstable_getVarsForDev`
    reads, and which value wins, for each mix of them."""
    mixes: list[dict[str, str]] = [
        {".env": "A=env\nB=env\n"},
        {".env": "A=env\nB=env\n", ".env.local": "B=local\nC=local\n"},
        {".env.local": "C=local\n"},
        {".dev.vars": "A=dev\n", ".env": "A=env\nB=env\n"},
        {".env": "export A='quoted'  # comment\n"},
    ]
    configs = []
    for number, files in enumerate(mixes):
        (tmp_path / str(number)).mkdir()
        for name, text in files.items():
            (tmp_path / str(number) / name).write_text(text)
        configs.append(tmp_path / str(number) / "wrangler.toml")
    wrangler = npm_packages(ROOT) / "wrangler"
    script = ["node", "-e", WRANGLER_READS, str(wrangler), *map(str, configs)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    wranglers = json.loads(
        subprocess.run(script, capture_output=True, text=True, check=True, timeout=120, env=environ).stdout
    )
    assert [read_dev_vars(config, environ) for config in configs] == wranglers
