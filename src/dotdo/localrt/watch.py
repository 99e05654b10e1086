"""What `dotdo dev` watches, and the watching itself (watchfiles: inotify, FSEvents or
ReadDirectoryChangesW underneath, so an idle server costs no CPU).

Watched: the Python sources (the main module's folder and any extra roots, recursively)
and every other file of the main module's folder (a data file a deploy may ship, by the
config's module rules, which the runtime applies), `python_modules/` (recursively), and the
project folder itself *without* its subfolders,
for `wrangler.toml` and `pyproject.toml` (watching the folder rather than the files
survives editors that save by renaming a new file into place). Never watched: the
state and build folders, and the tool, cache and virtual environment folders the build
never ships from (`skipped_dirs.json`, read by the build too: every file it ships is
watched), even when one sits inside a watched folder.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dotdo.localrt.devvars import DOT_ENV, dev_vars_path
from dotdo.localrt.project import Project

__all__ = ["IGNORED_DIRS", "Kind", "WatchPlan", "Watcher", "is_ignored_dir"]

_SKIPPED = json.loads((Path(__file__).parent / "skipped_dirs.json").read_text(encoding="utf-8"))
IGNORED_DIRS = frozenset(_SKIPPED["names"])
"""Folder names whose contents never trigger a reload or restart, wherever they are: the
folders the local runtime's build never ships from (`skipped_dirs.json`, shared with
lib.mjs), besides any `*.dist-info` (`is_ignored_dir`)."""
_IGNORED_SUFFIXES = tuple(_SKIPPED["suffixes"])


def is_ignored_dir(name: str) -> bool:
    """Whether a folder named `name` holds nothing the build ships (`IGNORED_DIRS`, `*.dist-info`)."""
    return name in IGNORED_DIRS or name.endswith(_IGNORED_SUFFIXES)


class Kind(Enum):
    """What a changed file is to the dev server."""

    SOURCE = "source"
    DATA = "data"
    """Any other file of the main module's folder: shipped or not by the module rules."""
    CONFIG = "config"
    PYPROJECT = "pyproject"
    PYTHON_MODULES = "python_modules"


@dataclass(frozen=True)
class WatchPlan:
    """The folders to watch and how a changed path is classified."""

    root: Path
    config: Path
    sources: tuple[Path, ...]
    python_modules: Path
    ignored: tuple[Path, ...]
    """Folders never relevant (the state and build folders) wherever they are."""
    app: Path
    """The main module's folder (also in `sources`): a save there alone is reloaded."""

    @classmethod
    def for_project(
        cls, project: Project, *, extra_sources: Iterable[Path] = (), ignored: Iterable[Path] = ()
    ) -> WatchPlan:
        """The plan for `project`: its main module's folder and `extra_sources` (e.g. the
        `--python-root` folders), never `ignored` (the state and build folders)."""
        return cls(
            root=project.root,
            config=project.config,
            sources=(project.sources, *(Path(p).resolve() for p in extra_sources)),
            python_modules=project.python_modules,
            ignored=tuple(Path(p).resolve() for p in ignored),
            app=project.sources,
        )

    def recursive(self) -> list[Path]:
        """Folders watched with their subfolders: none inside another of them (an extra
        source root inside the main module's folder, `python_modules/` beside a main module
        at the project's top), whose every change a second watch would report again, in a
        batch of its own: a second restart."""
        folders = [*dict.fromkeys([*self.sources, self.python_modules])]
        return [f for f in folders if not any(f != o and f.is_relative_to(o) for o in folders)]

    def flat(self) -> list[Path]:
        """Folders watched without their subfolders (for the config files)."""
        return list(dict.fromkeys([self.root, self.config.parent]))

    def _dot_env(self, path: Path) -> bool:
        return path.parent == self.config.parent and path.name in DOT_ENV

    def classify(self, path: Path) -> Kind | None:
        """The kind of change `path` is, or None when it needs no restart."""
        if path == self.config or path == dev_vars_path(self.config) or self._dot_env(path):
            return Kind.CONFIG  # the local values (secrets) are read at each start, as the config
        if path == self.root / "pyproject.toml":
            return Kind.PYPROJECT
        if any(path.is_relative_to(folder) for folder in self.ignored):
            return None
        if path == self.python_modules or path.is_relative_to(self.python_modules):
            # A cache written beside the vendored packages (`__pycache__`, by a CPython
            # that imported them) is nothing the build ships: no restart.
            inside = path.relative_to(self.python_modules).parts
            return None if any(is_ignored_dir(part) for part in inside[:-1]) else Kind.PYTHON_MODULES
        for source in self.sources:
            if path.is_relative_to(source):
                inside = path.relative_to(source).parts
                if any(is_ignored_dir(part) for part in inside[:-1]):
                    return None
                if path.suffix == ".py":
                    return Kind.SOURCE
                return Kind.DATA if path.is_relative_to(self.app) else None
        return None

    def reloadable(self, batch: Iterable[tuple[Kind, Path]]) -> bool:
        """Whether every change of `batch` is a file of the main module's folder (a Python
        source or a data file): a save the running runtime serves by importing the app into
        a new interpreter (`Server.reload`, ADR 0060), or ignores when a deploy would ship
        none of its files; it still restarts for a file of another root inside the folder,
        which the build ships precompiled. Anything else (`python_modules/`, the config, an
        extra source root) rebuilds and restarts."""
        app_files = (Kind.SOURCE, Kind.DATA)
        return all(kind in app_files and path.is_relative_to(self.app) for kind, path in batch)


class Watcher:
    """Batches of changed paths of the kinds that matter, until `stop()`: what `plan`
    watches, each batch gathered for `debounce_ms` milliseconds.

    One watchfiles thread per watched folder feeds one queue; a recursive watch whose
    folder is replaced (`python_modules/` re-vendored by another tool) is started again
    on the new folder."""

    def __init__(self, plan: WatchPlan, *, debounce_ms: int = 300) -> None:
        self.plan = plan
        self.debounce_ms = debounce_ms
        self._queue: queue.Queue[set[tuple[Kind, Path]]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: dict[tuple[Path, bool], tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()

    def _watch(self, folder: Path, recursive: bool) -> None:
        key = (folder, recursive)
        with self._lock:
            old = self._threads.get(key)
            if old is not None:
                old[1].set()
            if not folder.is_dir() or self._stop.is_set():
                return
            stop = threading.Event()
            thread = threading.Thread(target=self._run, args=(folder, recursive, stop), daemon=True)
            self._threads[key] = (thread, stop)
            thread.start()

    def _run(self, folder: Path, recursive: bool, stop: threading.Event) -> None:
        from watchfiles import watch

        for changes in watch(
            folder, recursive=recursive, stop_event=stop, debounce=self.debounce_ms, raise_interrupt=False,
            watch_filter=None, ignore_permission_denied=True,
        ):  # fmt: skip
            if self._stop.is_set():
                return
            found = set()
            for _, name in changes:
                path = Path(name)
                kind = self.plan.classify(path)
                if kind is not None:
                    found.add((kind, path))
                if not recursive and path.parent == folder and path in self.plan.recursive():
                    self._watch(path, True)  # a watched folder was replaced: watch the new one
            if found:
                self._queue.put(found)

    def start(self) -> None:
        """Start watching every folder of the plan (a thread each)."""
        for folder in self.plan.recursive():
            self._watch(folder, True)
        for folder in self.plan.flat():
            self._watch(folder, False)

    def next_batch(self, timeout: float) -> set[tuple[Kind, Path]] | None:
        """The next batch of relevant changes (merged with any already waiting), or None
        when none came within `timeout` seconds."""
        try:
            batch = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        while not self._queue.empty():
            batch |= self._queue.get_nowait()
        return batch

    def stop(self) -> None:
        """Stop every watching thread; `next_batch` gets nothing more."""
        with self._lock:
            self._stop.set()
            for _, stop in self._threads.values():
                stop.set()
