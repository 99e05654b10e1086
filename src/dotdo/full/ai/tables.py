"""The AI part's tables, created by the `ai` component's migrations.

dotdo_ai_cache      answers by model and input, until they expire (service.py)
dotdo_ai_usage      provider calls and tokens by UTC day, for the budget (service.py)
dotdo_ai_vectors    one embedding per searchable thing, float32 BLOB (search.py)
"""

from __future__ import annotations

from dotdo.core.migrations import Component, Migration

__all__ = ["AI_COMPONENT"]

AI_COMPONENT = Component(
    "ai",
    (
        Migration(
            1,
            (
                # WITHOUT ROWID: a TEXT key would otherwise be stored (and billed) twice.
                """CREATE TABLE IF NOT EXISTS dotdo_ai_cache (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID""",
                "CREATE INDEX IF NOT EXISTS dotdo_ai_cache_expiry ON dotdo_ai_cache (expires_at)",
                """CREATE TABLE IF NOT EXISTS dotdo_ai_usage (
  day TEXT PRIMARY KEY,
  calls INTEGER NOT NULL,
  tokens INTEGER NOT NULL
) WITHOUT ROWID""",
                """CREATE TABLE IF NOT EXISTS dotdo_ai_vectors (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  vector BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (type, id)
) WITHOUT ROWID""",
            ),
        ),
    ),
)
