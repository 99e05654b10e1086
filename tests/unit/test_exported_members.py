import dotdo


def test_all_is_sorted_and_complete() -> None:
    assert dotdo.__all__ == sorted(dotdo.__all__)
    public = {name for name in vars(dotdo) if not name.startswith("_")} - {
        "annotations",
        "TYPE_CHECKING",
        "Any",
        "core",
        "errors",
        "semantic",
        "types",
        "worker",
    }
    runtime_only = {"DOCore", "AlarmInfo", "DOSemantic"}  # load on first use, under the Workers runtime
    assert public | runtime_only == set(dotdo.__all__)
