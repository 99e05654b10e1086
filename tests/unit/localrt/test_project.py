"""Reading a project, and the bound-class-without-migration check (which Cloudflare only
reports at the class's first call, naming `new_classes`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.project import Project

HEAD = 'name = "app"\nmain = "src/entry.py"\ncompatibility_flags = ["python_workers"]\n'


def _project(tmp_path: Path, wrangler: str, pyproject: str | None = None) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text("")
    (tmp_path / "wrangler.toml").write_text(HEAD + wrangler)
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    return tmp_path


def _binding(name: str, cls: str) -> str:
    return f'[[durable_objects.bindings]]\nname = "{name}"\nclass_name = "{cls}"\n'


def test_reads_main_bindings_migrations_and_dependencies(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        _binding("APP", "App") + '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["App"]\n',
        '[project]\nname = "app"\ndependencies = ["dotdo>=0.1", "attrs"]\n',
    )
    project = Project.load(root)
    assert project.main == root / "src" / "entry.py"
    assert project.sources == root / "src"
    assert [(b.name, b.class_name) for b in project.bindings] == [("APP", "App")]
    assert project.dependencies == ("dotdo>=0.1", "attrs")
    assert project.missing_migrations() == []
    project.check()


def _snippets(message: str) -> list[str]:
    """The TOML blocks of a hint: its runs of lines indented two spaces, unindented."""
    blocks: list[list[str]] = []
    previous_indented = False
    for line in message.splitlines():
        indented = line.startswith("  ")
        if indented and not previous_indented:
            blocks.append([])
        if indented:
            blocks[-1].append(line[2:])
        previous_indented = indented
    return ["\n".join(block) + "\n" for block in blocks]


def _paste(root: Path, snippet: str) -> Project:
    """`snippet` added at the end of the project's wrangler.toml, as the hint says."""
    with (root / "wrangler.toml").open("a") as config:
        config.write(snippet)
    return Project.load(root)


def test_a_bound_class_without_migration_names_the_entry_to_add(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        _binding("APP", "App")
        + _binding("TICKETS", "Ticket")
        + '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["App"]\n'
        + '[[migrations]]\ntag = "v2-bounds"\nnew_classes = ["Kv"]\n',
    )
    with pytest.raises(LocalRuntimeError) as raised:
        Project.load(root).check()
    assert str(raised.value).startswith(
        "wrangler.toml binds TICKETS to class Ticket, which no migration creates. "
        "Add at the end of wrangler.toml:\n"
        '  [[migrations]]\n  tag = "v3"\n  new_sqlite_classes = ["Ticket"]\n'
        "Or, if Ticket is Kv renamed, add this instead"
    )


def test_the_entry_to_add_pastes_as_it_is_printed(tmp_path: Path) -> None:
    """The hint was one line, `add [[migrations]] tag = "v2" new_sqlite_classes = [...]`,
    which is not TOML (a table header and two keys on one line)."""
    root = _project(
        tmp_path,
        _binding("SHOP", "Shop")
        + '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Shop"]\n'
        + '[vars]\nSHOP_NAME = "Corner"\n'  # a table last, as users' configs often end
        + _binding("WAREHOUSE", "Warehouse"),
    )
    [message] = Project.load(root).missing_migrations()
    [snippet] = _snippets(message)
    pasted = _paste(root, snippet)
    assert pasted.missing_migrations() == []
    assert pasted.migration_tags == ("v1", "v2")


def test_a_class_that_replaced_a_migrated_one_is_told_how_to_rename_it(tmp_path: Path) -> None:
    """The template's class renamed in the code and the binding: the hint named only
    new_sqlite_classes, which then failed on the class the first migration made."""
    root = _project(
        tmp_path, _binding("DEMO", "Library") + '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Demo"]\n'
    )
    [message] = Project.load(root).missing_migrations()
    assert "\nOr, if Library is Demo renamed, add this instead, which keeps its objects on " in message
    assert "starts the renamed class with none" in message
    _new, rename = _snippets(message)
    assert rename == '[[migrations]]\ntag = "v2"\nrenamed_classes = [{ from = "Demo", to = "Library" }]\n'
    renamed = _paste(root, rename)
    assert renamed.missing_migrations() == [] and renamed.migrated == {"Library"}


def test_with_several_unbound_classes_the_hint_names_them_all(tmp_path: Path) -> None:
    """Two new classes beside two old unbound ones: each hint said "Demo renamed", and
    following both renamed Demo twice."""
    migration = '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Demo", "Other"]\n'
    root = _project(tmp_path, _binding("A", "Library") + _binding("B", "Shelf") + migration)
    messages = Project.load(root).missing_migrations()
    assert len(messages) == 2
    for message, new in zip(messages, ("Library", "Shelf"), strict=True):
        assert f"Or, if {new} is one of Demo, Other renamed, add this instead" in message
        assert f'renamed_classes = [{{ from = "<the old name>", to = "{new}" }}]' in message


def test_renamed_and_deleted_classes_no_longer_count(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        _binding("APP", "Old")
        + '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Old", "Gone"]\n'
        + '[[migrations]]\ntag = "v2"\nrenamed_classes = [{from = "Old", to = "New"}]\n'
        + 'deleted_classes = ["Gone"]\n',
    )
    project = Project.load(root)
    assert project.migrated == {"New"}
    assert len(project.missing_migrations()) == 1


def test_another_workers_class_needs_no_migration_here(tmp_path: Path) -> None:
    root = _project(tmp_path, _binding("OTHER", "Elsewhere") + 'script_name = "other"\n')
    assert Project.load(root).bindings == ()


@pytest.mark.parametrize(
    ("wrangler", "message"),
    [
        ('main = "src/entry.js"\n', "main must name the Python entry module"),
        ('main = "src/missing.py"\n', "main names src/missing.py, which does not exist"),
        ("[[[", "is not valid TOML"),
    ],
)
def test_config_problems_are_one_line(tmp_path: Path, wrangler: str, message: str) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text("")
    (tmp_path / "wrangler.toml").write_text(wrangler)
    with pytest.raises(LocalRuntimeError, match=message) as raised:
        Project.load(tmp_path)
    assert "\n" not in str(raised.value)


def test_no_wrangler_toml(tmp_path: Path) -> None:
    with pytest.raises(LocalRuntimeError, match=r"no wrangler\.toml in .*dotdo new NAME"):
        Project.load(tmp_path)
