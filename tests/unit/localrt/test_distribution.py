"""The dotdo running the tooling, as a distribution: run from a checkout's src/ (as this
repository's tests are), its version and requirements are that checkout's pyproject.toml,
whatever dotdo a shared virtualenv has installed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import dotdo
from dotdo.localrt import distribution
from tests.runtime import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_run_from_this_checkout() -> None:
    assert distribution.checkout() == ROOT
    assert distribution.version() == PROJECT["version"]


def test_requirements_as_the_wheel_metadata_states_them() -> None:
    lines = distribution.requires()
    plain = [Requirement(line) for line in lines if "extra ==" not in line]
    assert [str(r) for r in plain] == [str(Requirement(text)) for text in PROJECT["dependencies"]]
    for extra, texts in PROJECT["optional-dependencies"].items():
        with_extra = [Requirement(line) for line in lines if f'extra == "{extra}"' in line]
        assert {r.name for r in with_extra} == {Requirement(text).name for text in texts}
        for requirement in with_extra:
            assert requirement.marker is not None
            assert requirement.marker.evaluate({"extra": extra})
            assert not requirement.marker.evaluate({"extra": "other"})


def test_another_projects_src_is_not_a_checkout_of_dotdo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "dotdo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "not-dotdo"\nversion = "9"\n')
    monkeypatch.setattr(dotdo, "__file__", str(package / "__init__.py"))
    assert distribution.checkout() is None
    assert distribution.version() != "9"
