import dotdo


def test_all_is_sorted_and_complete() -> None:
    assert dotdo.__all__ == sorted(dotdo.__all__)
    public = {name for name in vars(dotdo) if not name.startswith("_")} - {
        "annotations",
        "TYPE_CHECKING",
        "Any",
        "core",
        "errors",
        "full",
        "semantic",
        "storage",
        "workflows",
        "wire",
        "remote",
        "client",
        "types",
        "values",
        "worker",
        # tooling subpackages (the command, the local runtime, the pytest plugin), imported by
        # the plugin in every test session; never part of the framework's own surface
        "cli",
        "localrt",
        "testing",
    }
    # load on first use, under the Workers runtime
    runtime_only = {"DOCore", "AlarmInfo", "DOFull", "DOSemantic", "DOStorage", "DOWorkflow"}
    assert public | runtime_only == set(dotdo.__all__)
