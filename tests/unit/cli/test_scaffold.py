"""`dotdo new`: a project of the user's own, with names derived from the one given."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from dotdo.cli import main
from dotdo.cli.scaffold import TEMPLATE_NAMES, create_project, names_for
from dotdo.errors import LocalRuntimeError
from dotdo.localrt.project import Project


def test_names() -> None:
    assert names_for("support-desk") == {
        "name": "support-desk",
        "class": "SupportDesk",
        "binding": "SUPPORT_DESK",
        "module": "support_desk",
    }
    assert names_for("demo")["class"] == "Demo"


@pytest.mark.parametrize("name", ["Demo", "1app", "my_app", "-x", "a" * 64, "x-", ""])
def test_invalid_names(name: str) -> None:
    with pytest.raises(LocalRuntimeError, match="is not a valid Worker name"):
        names_for(name)


def test_the_project(tmp_path: Path) -> None:
    target = create_project("support-desk", tmp_path)
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "src/entry.py",
        "tests/test_support_desk.py",
        "wrangler.toml",
    ]
    wrangler = tomllib.loads((target / "wrangler.toml").read_text())
    assert wrangler["name"] == "support-desk"
    assert wrangler["durable_objects"]["bindings"] == [{"name": "SUPPORT_DESK", "class_name": "SupportDesk"}]
    assert wrangler["ai"] == {"binding": "AI"}  # DOFull's `ai_binding`, for `self.ai` and search
    pyproject = tomllib.loads((target / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"][0].startswith("dotdo>=")
    assert "workers-py" in pyproject["dependency-groups"]["dev"]
    entry = ast.parse((target / "src" / "entry.py").read_text())
    classes = {node.name for node in entry.body if isinstance(node, ast.ClassDef)}
    assert classes == {"SupportDesk", "Default"}
    ast.parse((target / "tests" / "test_support_desk.py").read_text())
    assert "{{" not in "".join(p.read_text() for p in target.rglob("*") if p.is_file())
    Project.load(target).check()  # the class is bound with its migration


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    with pytest.raises(LocalRuntimeError, match="already exists and is not empty"):
        create_project("demo", tmp_path)
    assert (tmp_path / "demo" / "keep.txt").read_text() == "mine"


def test_the_command_reports_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    created = runner.invoke(main, ["new", "demo"])
    assert created.exit_code == 0, created.output
    assert (tmp_path / "demo" / "wrangler.toml").is_file()
    refused = runner.invoke(main, ["new", "Demo"])
    assert refused.exit_code == 1
    assert refused.output.strip().startswith("dotdo: 'Demo' is not a valid Worker name")
    outside = runner.invoke(main, ["dev"])  # no wrangler.toml in tmp_path itself
    assert outside.exit_code == 1
    assert "dotdo: no wrangler.toml in" in outside.output


def test_the_name_may_be_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dotdo new /work/try/shop` was refused: "'/work/try/shop' is not a valid Worker name"."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    absolute = runner.invoke(main, ["new", str(tmp_path / "apps" / "shop")])
    assert absolute.exit_code == 0, absolute.output
    assert tomllib.loads((tmp_path / "apps" / "shop" / "wrangler.toml").read_text())["name"] == "shop"
    relative = runner.invoke(main, ["new", "apps/desk"])
    assert relative.exit_code == 0 and "cd apps/desk" in relative.output, relative.output
    assert (tmp_path / "apps" / "desk" / "src" / "entry.py").is_file()
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    current = runner.invoke(main, ["new", "."])
    assert current.exit_code == 0, current.output
    assert tomllib.loads((tmp_path / "here" / "wrangler.toml").read_text())["name"] == "here"
    refused = runner.invoke(main, ["new", str(tmp_path / "Bad_Name")])
    assert refused.exit_code == 1 and "'Bad_Name' is not a valid Worker name" in refused.output


@pytest.mark.parametrize("name", ["default", "router", "worker-entrypoint", "http-request", "noun", "event"])
def test_a_name_whose_class_the_template_uses_is_refused(name: str) -> None:
    """`default` made `class Default(DOWorkflow)`, replaced by the template's own `Default`
    worker; `worker-entrypoint` made that worker subclass the app's class."""
    with pytest.raises(LocalRuntimeError, match=r"a name the project's src/entry\.py already uses"):
        names_for(name)


def test_the_refused_names_are_every_class_name_the_template_binds(tmp_path: Path) -> None:
    target = create_project("shop", tmp_path)
    entry = ast.parse((target / "src" / "entry.py").read_text())
    bound = {
        alias.asname or alias.name
        for node in entry.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    bound |= {node.name for node in entry.body if isinstance(node, ast.ClassDef)}
    assert {n for n in bound if n[:1].isupper()} - {"Shop"} == TEMPLATE_NAMES
