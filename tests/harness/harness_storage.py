"""DOStorage in relaxed durability: acknowledged at once, logged every 10 s or 1,000 writes
(what `tests/integration/test_storage.py` checks through the real runtime)."""

from dotdo import DOStorage, TierOptions


class HarnessRelaxed(DOStorage):
    storage_options = TierOptions(durability="relaxed", relaxed_flush_ms=10_000, relaxed_max_writes=1_000)
