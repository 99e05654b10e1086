"""Every error code the package raises is in the API reference: a client matches on codes,
so one it cannot look up is one it cannot handle (seven were missing: `type_mismatch`,
`thing_deleted`, `invalid_action`, `invalid_event`, `invalid_workflow`,
`workflow_run_not_found`, `dead_letter_not_found`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_RAISED = re.compile(r'\bcode="([a-z_]+)"|default_code\b[^=\n]*=\s*"([a-z_]+)"')


def test_every_code_raised_is_documented() -> None:
    docs = (ROOT / "docs" / "api.md").read_text()
    raised: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "dotdo").rglob("*.py")):
        for match in _RAISED.finditer(path.read_text()):
            raised.setdefault(match[1] or match[2], str(path.relative_to(ROOT)))
    assert len(raised) > 100  # the pattern still finds them
    missing = {code: where for code, where in raised.items() if f"`{code}`" not in docs}
    assert not missing, f"codes raised but not in docs/api.md: {missing}"
