"""A project the local runtime serves: its folder, `wrangler.toml` and `pyproject.toml`.

Reads only what the tooling needs (the main module, Durable Object bindings and
migrations, the Python dependencies) and checks the one mistake Cloudflare reports
late: a bound class that no `[[migrations]]` entry creates passes `wrangler deploy`
and fails its first call with a message about `new_classes`
(https://developers.cloudflare.com/durable-objects/reference/durable-object-class-migrations-legacy/).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotdo.errors import LocalRuntimeError

__all__ = ["Binding", "Project"]


@dataclass(frozen=True)
class Binding:
    """One `[[durable_objects.bindings]]` entry of this worker's own classes."""

    name: str
    class_name: str


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise LocalRuntimeError(f"cannot read {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise LocalRuntimeError(f"{path} is not valid TOML: {error}") from error


def _migrated_classes(migrations: list[Any]) -> set[str]:
    """Classes the migrations create and do not delete or rename away, in order."""
    classes: set[str] = set()
    for migration in migrations:
        if not isinstance(migration, dict):
            continue
        classes.update(migration.get("new_sqlite_classes", []))
        classes.update(migration.get("new_classes", []))
        for rename in migration.get("renamed_classes", []):
            classes.discard(rename.get("from"))
            classes.add(rename.get("to"))
        classes.difference_update(migration.get("deleted_classes", []))
    return classes


def toml_snippet(*lines: str) -> str:
    """`lines` of TOML as a hint shows them: each on a line of its own, indented two spaces
    (still valid TOML when pasted as it is), after a newline."""
    return "".join(f"\n  {line}" for line in lines)


def rename_hint(unbound: list[str], class_name: str, tag: str) -> str:
    """What to add instead when `class_name` replaces a class a migration made that nothing
    binds now (`unbound`): a migration tagged `tag` that renames it, which keeps that
    class's objects on Cloudflare (`renamed_classes`, Cloudflare's Durable Object
    migrations), as a snippet (`toml_snippet`) after a line that says so; "" when there is
    none."""
    if not unbound:
        return ""
    old = unbound[0] if len(unbound) == 1 else "<the old name>"
    which = unbound[0] if len(unbound) == 1 else f"one of {', '.join(unbound)}"
    return (
        f"\nOr, if {class_name} is {which} renamed, add this instead, which keeps its objects on "
        "Cloudflare (the local runtime starts the renamed class with none):"
        + toml_snippet(
            "[[migrations]]",
            f'tag = "{tag}"',
            f'renamed_classes = [{{ from = "{old}", to = "{class_name}" }}]',
        )
    )


@dataclass(frozen=True)
class Project:
    """A project folder with its wrangler config (`config` may live elsewhere, as the test
    harness's does); `python_modules/` is always in `root`."""

    root: Path
    config: Path
    worker_name: str
    main: Path
    bindings: tuple[Binding, ...]
    migrated: frozenset[str]
    migration_tags: tuple[str, ...]
    dependencies: tuple[str, ...]
    """`[project] dependencies` of `root/pyproject.toml` (none without one)."""
    project_name: str | None

    @classmethod
    def load(cls, root: Path, config: Path | None = None) -> Project:
        """Read `root` (and `config`, default `root/wrangler.toml`); LocalRuntimeError says in
        one line what is missing or malformed."""
        root = root.resolve()
        config = (root / (config or "wrangler.toml")).resolve()
        if not config.is_file():
            raise LocalRuntimeError(
                f"no wrangler.toml in {root}: run this in a project folder (dotdo new NAME makes one)"
            )
        data = _read_toml(config)
        main = data.get("main")
        if not isinstance(main, str) or not main.endswith(".py"):
            raise LocalRuntimeError(
                f'{config.name}: main must name the Python entry module (main = "src/entry.py")'
            )
        main_path = (config.parent / main).resolve()
        if not main_path.is_file():
            raise LocalRuntimeError(f"{config.name}: main names {main}, which does not exist")
        bindings = tuple(
            Binding(str(entry.get("name")), str(entry.get("class_name")))
            for entry in data.get("durable_objects", {}).get("bindings", [])
            if isinstance(entry, dict) and not entry.get("script_name")
        )
        migrations = [m for m in data.get("migrations", []) if isinstance(m, dict)]
        pyproject = root / "pyproject.toml"
        project: dict[str, Any] = _read_toml(pyproject).get("project", {}) if pyproject.is_file() else {}
        return cls(
            root=root,
            config=config,
            worker_name=str(data.get("name", root.name)),
            main=main_path,
            bindings=bindings,
            migrated=frozenset(_migrated_classes(migrations)),
            migration_tags=tuple(str(m.get("tag", "")) for m in migrations),
            dependencies=tuple(str(d) for d in project.get("dependencies", [])),
            project_name=project.get("name"),
        )

    @property
    def sources(self) -> Path:
        """The main module's folder: what Cloudflare puts on `sys.path` beside `python_modules/`."""
        return self.main.parent

    @property
    def python_modules(self) -> Path:
        """`python_modules/` in the project folder: the vendored packages, as Cloudflare reads them."""
        return self.root / "python_modules"

    def next_migration_tag(self) -> str:
        """One past the highest `v<number>` tag in use (`v1` when there is none)."""
        numbers = [int(m.group(1)) for tag in self.migration_tags if (m := re.match(r"v(\d+)", tag))]
        return f"v{max(numbers, default=0) + 1}"

    def missing_migrations(self) -> list[str]:
        """One message per bound class that no migration creates: a line that says so, then
        the entry to add as a snippet to paste (`toml_snippet`): a new class, or (when a
        migrated class is no longer bound) a rename of that one."""
        tag = self.next_migration_tag()
        unbound = sorted(self.migrated - {binding.class_name for binding in self.bindings})
        name = self.config.name
        return [
            f"{name} binds {binding.name} to class {binding.class_name}, which no migration creates. "
            f"Add at the end of {name}:"
            + toml_snippet(
                "[[migrations]]", f'tag = "{tag}"', f'new_sqlite_classes = ["{binding.class_name}"]'
            )
            + rename_hint(unbound, binding.class_name, tag)
            for binding in self.bindings
            if binding.class_name not in self.migrated
        ]

    def check(self) -> None:
        """Raise LocalRuntimeError naming the first bound class without a migration (its
        `missing_migrations` message)."""
        missing = self.missing_migrations()
        if missing:
            raise LocalRuntimeError(missing[0])
