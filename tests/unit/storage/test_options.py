"""The tiers' and the archive's options: which one seals event segments, and an archive
bound that could never hold refused when the class is created."""

from __future__ import annotations

import re

import pytest

from dotdo.storage.options import ArchiveOptions, TierOptions, check_archive_options


def test_an_archive_bound_below_the_seal_is_refused() -> None:
    # The defaults fit: archived segments join sealed segments of 256 up to 1,000 events.
    check_archive_options(TierOptions(), ArchiveOptions())
    check_archive_options(TierOptions(segment_events=4), ArchiveOptions(segment_events=4))
    for name, small in (("segment_events", 10), ("segment_bytes", 1000)):
        with pytest.raises(ValueError, match=re.escape(f"TierOptions({name}={small})")) as refused:
            check_archive_options(TierOptions(), ArchiveOptions(**{name: small}))  # type: ignore[arg-type]
        assert f"ArchiveOptions.{name} ({small}) is below TierOptions.{name}" in str(refused.value)


def test_a_storage_class_with_an_archive_bound_it_cannot_keep_fails_when_created() -> None:
    from dotdo import DOStorage

    with pytest.raises(TypeError, match=re.escape("Small: ArchiveOptions.segment_events (10)")):
        type("Small", (DOStorage,), {"archive_options": ArchiveOptions(segment_events=10)})
    sealed_small = type(
        "SealedSmall",
        (DOStorage,),
        {
            "storage_options": TierOptions(segment_events=10),
            "archive_options": ArchiveOptions(segment_events=10),
        },
    )
    assert sealed_small.archive_options.segment_events == 10
