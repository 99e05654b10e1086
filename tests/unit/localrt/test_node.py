"""Node.js missing or too old is one line, before anything starts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.node import MIN_NODE, check_node, parse_node_version, pinned_packages


def _fake_node(folder: Path, version: str) -> None:
    node = folder / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(node.stat().st_mode | stat.S_IEXEC)


def test_parse_node_version() -> None:
    assert parse_node_version("v20.3.1\n") == (20, 3, 1)
    assert parse_node_version("v22.23.3-nightly") == (22, 23, 3)
    with pytest.raises(LocalRuntimeError):
        parse_node_version("node: command not found")


def test_node_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalRuntimeError, match=r"^Node.js is missing: install Node 20.3 or newer"):
        check_node()


def test_node_too_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_node(tmp_path, "v18.19.0")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(
        LocalRuntimeError, match=r"^Node v18.19.0 is too old: the local runtime needs Node 20.3"
    ):
        check_node()


def test_node_new_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_node(tmp_path, f"v{MIN_NODE[0]}.{MIN_NODE[1]}.0")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert check_node() == str(tmp_path / "node")


def test_the_runtime_pins_the_same_npm_packages_as_this_repository() -> None:
    import json

    root = Path(__file__).resolve().parents[3]
    repository = json.loads((root / "package.json").read_text())["devDependencies"]
    assert {name: repository[name] for name in pinned_packages()} == pinned_packages()
