"""What a change means to `dotdo dev`: state, build output and tool folders never restart it,
wherever they are (a state folder inside the project restarted it forever)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dotdo.localrt import watch
from dotdo.localrt.watch import IGNORED_DIRS, Kind, WatchPlan

ROOT = Path("/p")
PLAN = WatchPlan(
    root=ROOT,
    config=ROOT / "wrangler.toml",
    sources=(ROOT / "src", ROOT / "lib"),
    python_modules=ROOT / "python_modules",
    ignored=(ROOT / "src" / "state", ROOT / ".dotdo" / "host"),
    app=ROOT / "src",
)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("src/entry.py", Kind.SOURCE),
        ("src/app/models.py", Kind.SOURCE),
        ("lib/helpers.py", Kind.SOURCE),
        ("wrangler.toml", Kind.CONFIG),
        (".dev.vars", Kind.CONFIG),
        (".env", Kind.CONFIG),  # wrangler's dev reads them when there is no .dev.vars
        (".env.local", Kind.CONFIG),
        ("pyproject.toml", Kind.PYPROJECT),
        ("python_modules", Kind.PYTHON_MODULES),
        ("python_modules/attrs/__init__.py", Kind.PYTHON_MODULES),
        # a package may be named `build` or `dist`: the build ships it, so a save is watched
        ("src/build/steps.py", Kind.SOURCE),
        ("src/dist/x.py", Kind.SOURCE),
        # never a restart:
        ("src/state/v3/do/app/abc.sqlite", None),  # --persist-to inside the sources
        ("src/state/x.py", None),
        ("src/__pycache__/entry.cpython-311.pyc", None),
        ("src/.venv/lib/site.py", None),
        ("src/node_modules/pkg/index.py", None),
        ("src/venv/lib/site.py", None),
        ("src/pkg-1.0.dist-info/METADATA", None),
        ("python_modules/attrs/__pycache__/__init__.cpython-313.pyc", None),
        ("python_modules/attrs-25.1.dist-info/RECORD", None),
        ("src/notes.txt", Kind.DATA),  # a deploy ships it: the runtime's module rules tell
        ("src/club/genres.json", Kind.DATA),
        ("lib/notes.txt", None),  # an extra root ships its Python alone
        ("src/__pycache__/notes.txt", None),
        (".dotdo/state/v3/do/x.sqlite", None),
        (".dotdo/host/worker.mjs", None),
        (".venv/lib/python3.11/site-packages/x.py", None),
        ("node_modules/wrangler/package.json", None),
        ("README.md", None),
        (".python_modules.abc123", None),  # the vendoring's staging folder
    ],
)
def test_classify(path: str, kind: Kind | None) -> None:
    assert PLAN.classify(ROOT / path) is kind


def test_the_watcher_ignores_the_folders_the_build_never_ships_from() -> None:
    """One list for both (`skipped_dirs.json`): a folder the build searched but the watcher
    ignored (`build`, `dist`) served its saves stale; one the build skipped but the watcher
    watched restarted for nothing. The build's side is `isSkippedDir` in lib.mjs, tested in
    tests/javascript/localrt.test.mjs over the same names."""
    skipped = json.loads((Path(watch.__file__).parent / "skipped_dirs.json").read_text())
    assert frozenset(skipped["names"]) == IGNORED_DIRS
    for name in skipped["names"]:
        assert PLAN.classify(ROOT / "src" / name / "x.py") is None
    assert PLAN.classify(ROOT / "src" / "tool-1.0.dist-info" / "x.py") is None


def test_the_project_folder_itself_is_watched_flat() -> None:
    assert PLAN.flat() == [ROOT]
    assert PLAN.recursive() == [ROOT / "src", ROOT / "lib", ROOT / "python_modules"]


def test_a_folder_inside_another_watched_one_is_not_watched_twice() -> None:
    """Each watch reports a change in a batch of its own: `--python-root src/lib` restarted
    twice on every save in it."""
    nested = WatchPlan(
        root=ROOT,
        config=ROOT / "wrangler.toml",
        sources=(ROOT, ROOT / "lib", ROOT / "src"),  # a main module at the project's top
        python_modules=ROOT / "python_modules",
        ignored=(),
        app=ROOT,
    )
    assert nested.recursive() == [ROOT]
    assert nested.classify(ROOT / "lib" / "x.py") is Kind.SOURCE
    assert nested.classify(ROOT / "python_modules" / "x.py") is Kind.PYTHON_MODULES


@pytest.mark.parametrize(
    ("paths", "reloaded"),
    [
        (["src/entry.py"], True),
        (["src/entry.py", "src/app/models.py"], True),
        (["src/club/genres.json"], True),  # the runtime ships it or not, by the module rules
        (["src/entry.py", "src/club/genres.json"], True),
        (["lib/helpers.py", "src/club/genres.json"], False),
        (["src/entry.py", "lib/helpers.py"], False),  # an extra root: shipped precompiled
        (["src/entry.py", "wrangler.toml"], False),
        (["src/entry.py", "python_modules/attrs/__init__.py"], False),
        (["pyproject.toml"], False),
    ],
)
def test_a_save_of_the_main_modules_folder_alone_is_reloaded(paths: list[str], reloaded: bool) -> None:
    batch = set()
    for path in paths:
        kind = PLAN.classify(ROOT / path)
        assert kind is not None
        batch.add((kind, ROOT / path))
    assert PLAN.reloadable(batch) is reloaded
