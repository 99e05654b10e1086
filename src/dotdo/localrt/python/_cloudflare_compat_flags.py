"""Stand-in for the runtime-provided compatibility-flag module the `workers` SDK reads.

Every flag the SDK asks about is off unless listed here, as for a worker that
enables none of them.
"""

python_workflows_implicit_dependencies = False
python_request_headers_preserve_commas = False


def __getattr__(name: str) -> bool:
    if name.startswith("__"):
        raise AttributeError(name)
    return False
