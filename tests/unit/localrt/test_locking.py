"""`replace_dir`: a folder swapped in whole, and the old tree a crash between its two
renames leaves behind put back by the next call."""

from __future__ import annotations

from pathlib import Path

import pytest

from dotdo.localrt import locking
from dotdo.localrt.locking import replace_dir, retired_dir
from dotdo.localrt.vendoring import STAGING_PREFIX


def _tree(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "marker").write_text(text)
    return path


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_a_folder_is_replaced_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(locking, "_exchange", lambda first, second: False)
    target = _tree(tmp_path / "python_modules", "old")
    replace_dir(_tree(tmp_path / ".python_modules.new", "new"), target)
    assert (target / "marker").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["python_modules"]


def test_the_old_tree_a_crash_left_is_put_back_and_no_staging_folder_by_name(tmp_path: Path) -> None:
    target = tmp_path / "python_modules"
    retired = _tree(retired_dir(target), "old")  # a crash between the two renames
    # vendoring clears folders named with its staging prefix as a crash's leftovers: the
    # retired tree must not be one of them (it is the only whole tree there is)
    assert not retired.name.startswith(STAGING_PREFIX)
    replace_dir(_tree(tmp_path / f"{STAGING_PREFIX}new", "new"), target)
    assert (target / "marker").read_text() == "new"
    assert not retired.exists()
