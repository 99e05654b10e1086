"""L0 on its own (`storage/l0.py`): reads count hits and misses, writes make things dirty
and remember what a rollback puts back, dirty things and things a checkpoint made clean in
an open transaction are never evicted, and an undo after a checkpoint keeps only what the
log holds."""

from __future__ import annotations

from dotdo.semantic.store import ThingRecord
from dotdo.storage.cache import ABSENT, record_size
from dotdo.storage.l0 import L0, L0Undo


def _record(thing_id: str, n: int = 0, type_name: str = "Item") -> ThingRecord:
    return ThingRecord(thing_id, type_name, f'{{"n":{n}}}', 1, 1, None, n + 1)


class _Tx:
    """The SQL facade's `in_transaction`, set by hand."""

    def __init__(self) -> None:
        self.open = False

    def __call__(self) -> bool:
        return self.open


def _l0(max_clean: int = 2, max_clean_bytes: int = 10**9) -> tuple[L0, _Tx]:
    tx = _Tx()
    return L0(max_clean, max_clean_bytes, tx), tx


def test_a_read_is_a_hit_when_held_known_absent_included() -> None:
    l0, _ = _l0()
    assert l0.get("a") is ABSENT
    l0.keep("a", _record("a"))
    l0.keep("gone", None)
    assert l0.get("a") == _record("a")
    assert l0.get("gone") is None
    assert (l0.hits, l0.misses) == (2, 1)


def test_a_write_is_dirty_and_counts_its_bytes_each_time() -> None:
    l0, _ = _l0()
    undo = L0Undo()
    l0.write("a", "Item", _record("a", 1), undo)
    l0.write("a", "Other", _record("a", 2, "Other"), undo)
    assert l0.dirty == {"a": {"Item", "Other"}}
    assert l0.dirty_bytes == record_size(_record("a", 1)) + record_size(_record("a", 2, "Other"))
    assert l0.dirty_ids("Item") == l0.dirty_ids("Other") == l0.dirty_ids() == ["a"]
    assert l0.dirty_ids("Nothing") == []
    assert l0.stats() == {
        "hits": 0,
        "misses": 0,
        "things": 1,
        "bytes": record_size(_record("a", 2, "Other")),
        "dirty": 1,
        "dirty_bytes": l0.dirty_bytes,
    }


def test_undo_puts_back_what_the_first_write_found() -> None:
    l0, _ = _l0()
    l0.keep("clean", _record("clean", 0))
    first = L0Undo()
    l0.write("dirty", "Item", _record("dirty", 1), first)
    turn = L0Undo()
    for n in (2, 3):
        l0.write("clean", "Item", _record("clean", n), turn)
        l0.write("dirty", "Other", _record("dirty", n, "Other"), turn)
        l0.write("new", "Item", _record("new", n), turn)
    l0.undo(turn)
    assert l0.cache.peek("clean") == _record("clean", 0)
    assert l0.cache.peek("dirty") == _record("dirty", 1)
    assert l0.cache.peek("new") is ABSENT
    assert l0.dirty == {"dirty": {"Item"}}


def test_dirty_things_are_never_evicted() -> None:
    l0, _ = _l0(max_clean=1, max_clean_bytes=1)
    undo = L0Undo()
    for n in range(5):
        l0.write(f"d{n}", "Item", _record(f"d{n}"), undo)
    l0.keep("c", _record("c"))  # over both bounds: only the clean one goes
    l0.evict()
    assert sorted(l0.cache) == [f"d{n}" for n in range(5)]


def test_clean_things_leave_least_recently_used_first() -> None:
    l0, _ = _l0(max_clean=2)
    for thing_id in ("a", "b"):
        l0.keep(thing_id, _record(thing_id))
    l0.get("a")
    l0.keep("c", _record("c"))
    assert sorted(l0.cache) == ["a", "c"]


def test_things_a_checkpoint_made_clean_stay_until_the_transaction_ends() -> None:
    l0, tx = _l0(max_clean=0)
    undo = L0Undo()
    for thing_id in ("a", "b"):
        l0.write(thing_id, "Item", _record(thing_id), undo)
    tx.open = True
    l0.checkpointing(undo)
    l0.clean(l0.dirty_ids())
    l0.evict()
    assert l0.dirty == {}
    assert sorted(l0.cache) == ["a", "b"]  # if the transaction rolls back, L0 has their only copy
    tx.open = False
    l0.evict()
    assert list(l0.cache) == []


def test_undo_after_a_checkpoint_keeps_only_the_dirty_things() -> None:
    l0, tx = _l0(max_clean=10)
    l0.keep("read", _record("read"))
    before = L0Undo()
    l0.write("a", "Item", _record("a"), before)
    tx.open = True
    turn = L0Undo()
    l0.write("b", "Item", _record("b"), turn)
    l0.checkpointing(turn)
    l0.checkpointing(turn)  # a second checkpoint in the turn: the first one's set is kept
    l0.clean(l0.dirty_ids())
    l0.keep("after", _record("after"))  # read from `things` as the checkpoint left it
    l0.undo(turn)
    # `things` rolled back: the clean records may be stale; the dirty one is true in the log.
    assert list(l0.cache) == ["a"]
    assert l0.dirty == {"a": {"Item"}}


def test_replayed_writes_are_dirty() -> None:
    l0, _ = _l0(max_clean=0)
    l0.replayed("a", "Item", _record("a"))
    l0.replayed("b", "Item", None)
    l0.evict()
    assert l0.dirty == {"a": {"Item"}, "b": {"Item"}}
    assert l0.cache.peek("b") is None
    assert l0.dirty_bytes == record_size(_record("a"))


def test_undo_puts_back_the_dirty_bytes() -> None:
    l0, _ = _l0()
    l0.write("a", "Item", _record("a"), L0Undo())
    turn = l0.begin()
    l0.write("a", "Item", _record("a", 1), turn)
    l0.checkpointing(turn)
    l0.clean(l0.dirty_ids())
    l0.dirty_bytes = 0  # what a full checkpoint does
    l0.undo(turn)
    assert l0.dirty_bytes == record_size(_record("a"))


def test_undo_keeps_what_an_earlier_joined_transaction_checkpointed() -> None:
    """Two transactions joined into one that rolls back, each with a checkpoint: undone last
    first, the second must leave the first's things for the first's undo to make dirty."""
    l0, tx = _l0(max_clean=0)
    l0.write("a", "Item", _record("a"), L0Undo())
    tx.open = True
    first, second = l0.begin(), l0.begin()
    l0.checkpointing(first)
    l0.clean(l0.dirty_ids())
    l0.write("b", "Item", _record("b"), second)
    l0.checkpointing(second)
    l0.clean(l0.dirty_ids())
    l0.undo(second)
    l0.undo(first)
    assert l0.dirty == {"a": {"Item"}}
    assert l0.cache.peek("a") == _record("a")
    tx.open = False
    l0.evict()  # dirty again: pinned
    assert list(l0.cache) == ["a"]
