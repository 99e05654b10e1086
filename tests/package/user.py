"""Commands run as a user of the installed package runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["run_as_user", "user_environment"]


def run_as_user(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `command` as a user of the installed package would: without this checkout's src/
    on the path or its virtualenv active. Fails the test on a non-zero exit."""
    result = subprocess.run(
        command, cwd=cwd, env=user_environment(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
    return result


def user_environment() -> dict[str, str]:
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false"}
    env.pop("PYTHONPATH", None)  # a user's virtualenv sees only what was installed into it
    env.pop("VIRTUAL_ENV", None)
    return env
