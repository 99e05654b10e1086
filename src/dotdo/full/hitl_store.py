"""Human in the loop's tables and SQL: approvals (`dotdo_approvals`) and waits for events
(`dotdo_event_waits`), each tied to the workflow step that waits on it ("<run id>/<step id>").

Times are epoch ms; JSON columns hold stored JSON text.
"""

from __future__ import annotations

from dotdo.core.migrations import Component, Migration
from dotdo.core.page_rows import PageColumns
from dotdo.core.sql import Sql
from dotdo.types import Row

__all__ = ["HITL_TABLES", "HitlStore"]

HITL_TABLES = Component(
    "hitl",
    (
        Migration(
            1,
            (
                # An approval is one row; an escalation adds a row for the same step and
                # points the expired one at it (`escalated_to`), so the step's current
                # approval is the one no other replaced.
                """CREATE TABLE IF NOT EXISTS dotdo_approvals (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  approvers TEXT,
  escalate_to TEXT,
  timeout_ms INTEGER,
  run_id TEXT NOT NULL,
  step TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  expires_at INTEGER,
  decided_by TEXT,
  decided_at INTEGER,
  comment TEXT,
  escalated_from TEXT,
  escalated_to TEXT
) WITHOUT ROWID""",
                "CREATE INDEX IF NOT EXISTS dotdo_approvals_step ON dotdo_approvals (step)",
                "CREATE INDEX IF NOT EXISTS dotdo_approvals_status ON dotdo_approvals (status, requested_at)",
                # Only what can still expire is indexed for the timer.
                "CREATE INDEX IF NOT EXISTS dotdo_approvals_due ON dotdo_approvals (expires_at) "
                "WHERE status = 'pending'",
                """CREATE TABLE IF NOT EXISTS dotdo_event_waits (
  step TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  pattern TEXT NOT NULL,
  match TEXT,
  status TEXT NOT NULL,
  event TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID""",
                "CREATE INDEX IF NOT EXISTS dotdo_event_waits_due ON dotdo_event_waits (expires_at) "
                "WHERE status = 'waiting'",
            ),
        ),
        # A decision's value (stored JSON text; NULL: none), the human tier's answer.
        Migration(2, ("ALTER TABLE dotdo_approvals ADD COLUMN value TEXT",)),
    ),
)
"""The `hitl` component's migrations."""

_APPROVAL = (
    "SELECT id, name, payload, status, approvers, escalate_to, timeout_ms, run_id, step, requested_at, "
    "expires_at, decided_by, decided_at, comment, value, escalated_from, escalated_to FROM dotdo_approvals"
)
_APPROVAL_COLUMNS = PageColumns(
    (
        "id",
        "name",
        "payload",
        "status",
        "approvers",
        "escalate_to",
        "timeout_ms",
        "run_id",
        "step",
        "requested_at",
        "expires_at",
        "decided_by",
        "decided_at",
        "comment",
        "value",
        "escalated_from",
        "escalated_to",
    ),
    key="id",
    by_key=f"{_APPROVAL} WHERE id IN (SELECT value FROM json_each(?))",
    measured=("name", "payload", "approvers", "escalate_to", "decided_by", "comment", "value"),
)
"""A page of approvals (`Sql.page`): `_APPROVAL`'s columns; the larger ones read by id."""


class HitlStore:
    """Rows of `dotdo_approvals` (`status`: pending, approved, rejected, expired) and of
    `dotdo_event_waits` (`status`: waiting, matched, expired), in `sql`."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    # -- approvals -------------------------------------------------------------

    def add_approval(
        self,
        approval_id: str,
        name: str,
        payload: str,
        approvers: str | None,
        escalate_to: str | None,
        timeout_ms: int | None,
        run_id: str,
        step: str,
        now: int,
        escalated_from: str | None = None,
    ) -> None:
        """A pending approval for `step`; it expires `timeout_ms` after `now` (never: None)."""
        self._sql.run(
            "INSERT INTO dotdo_approvals (id, name, payload, status, approvers, escalate_to, timeout_ms, "
            "run_id, step, requested_at, expires_at, escalated_from) "
            "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)",
            approval_id,
            name,
            payload,
            approvers,
            escalate_to,
            timeout_ms,
            run_id,
            step,
            now,
            None if timeout_ms is None else now + timeout_ms,
            escalated_from,
        )

    def approval(self, approval_id: str) -> Row | None:
        """One approval's row, or None."""
        return self._sql.first(f"{_APPROVAL} WHERE id = ?", approval_id)

    def current_approval(self, step: str) -> Row | None:
        """The approval `step` waits on now (the last of its escalations), or None."""
        return self._sql.first(f"{_APPROVAL} WHERE step = ? AND escalated_to IS NULL", step)

    def approvals(
        self, status: str | None, after: tuple[int, str] | None, limit: int, now: int
    ) -> tuple[list[Row], bool]:
        """Up to `limit` approvals with `status` (any: None) by `requested_at` then id (the
        oldest request first), after the approval `after` (its `requested_at` and id); and
        whether they were cut by their bytes first (`Sql.page`). A pending one whose time ran
        out by `now` counts as expired (its timer is late). A place in that order never
        changes, so a walk of the pages answers each approval once, as it is at its page's
        `now`."""
        overdue = "(status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?)"
        clauses = {"pending": f"NOT {overdue} AND status = ?", "expired": f"({overdue} OR status = ?)"}
        where: list[str] = ["1"]
        params: list[int | str] = []
        if after is not None:
            where.append("(requested_at, id) > (?, ?)")
            params.extend(after)
        if status is not None:
            where.append(clauses.get(status, "status = ?"))
            params.extend([now, status] if status in clauses else [status])
        return self._sql.page(
            f"{_APPROVAL} WHERE {' AND '.join(where)} ORDER BY requested_at, id LIMIT ?",
            *params,
            limit,
            columns=_APPROVAL_COLUMNS,
            rows=limit,
        )

    def decide(
        self, approval_id: str, status: str, by: str | None, comment: str | None, value: str | None, now: int
    ) -> bool:
        """A pending approval becomes `status` (approved, rejected), with the decision's
        `value` (stored JSON text, or None); True when it was pending."""
        written = self._sql.run(
            "UPDATE dotdo_approvals SET status = ?, decided_by = ?, decided_at = ?, comment = ?, value = ? "
            "WHERE id = ? AND status = 'pending'",
            status,
            by,
            now,
            comment,
            value,
            approval_id,
        )
        return written > 0

    def expire(self, approval_id: str, now: int, escalated_to: str | None) -> bool:
        """A pending approval expired at `now`, replaced by `escalated_to` (None: for good);
        False when it was not pending (another caller timed it out or decided it first)."""
        return (
            self._sql.run(
                "UPDATE dotdo_approvals SET status = 'expired', decided_at = ?, escalated_to = ? "
                "WHERE id = ? AND status = 'pending'",
                now,
                escalated_to,
                approval_id,
            )
            > 0
        )

    def due_approvals(self, now: int, limit: int) -> list[Row]:
        """Pending approvals whose time ran out by `now`, earliest first; fewer than `limit`
        where their rows pass MAX_PAGE_BYTES (`Sql.page`: a pass takes the rest next)."""
        rows, _ = self._sql.page(
            f"{_APPROVAL} WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
            now,
            limit,
            columns=_APPROVAL_COLUMNS,
            rows=limit,
        )
        return rows

    # -- waits for events --------------------------------------------------------

    def add_wait(
        self, step: str, run_id: str, pattern: str, match: str | None, now: int, expires_at: int | None
    ) -> None:
        """`step` waits for an event matching `pattern` and `match` (JSON text, or None)."""
        self._sql.run(
            "INSERT INTO dotdo_event_waits (step, run_id, pattern, match, status, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, 'waiting', ?, ?)",
            step,
            run_id,
            pattern,
            match,
            now,
            expires_at,
        )

    def wait(self, step: str) -> Row | None:
        """`step, run_id, pattern, match, status, event, expires_at` of a wait, or None."""
        return self._sql.first(
            "SELECT step, run_id, pattern, match, status, event, expires_at FROM dotdo_event_waits "
            "WHERE step = ?",
            step,
        )

    def waiting(self) -> list[Row]:
        """Every wait still waiting: `step, run_id, pattern, match, expires_at`."""
        return self._sql.exec(
            "SELECT step, run_id, pattern, match, expires_at FROM dotdo_event_waits WHERE status = 'waiting'"
        )

    def end_wait(self, step: str, status: str, event: str | None) -> bool:
        """A waiting wait ends: `matched` (with the event as JSON text) or `expired`."""
        written = self._sql.run(
            "UPDATE dotdo_event_waits SET status = ?, event = ? WHERE step = ? AND status = 'waiting'",
            status,
            event,
            step,
        )
        return written > 0

    def due_waits(self, now: int, limit: int) -> list[Row]:
        """Waits whose time ran out by `now`: `step, run_id`."""
        return self._sql.exec(
            "SELECT step, run_id FROM dotdo_event_waits WHERE status = 'waiting' AND expires_at <= ? "
            "ORDER BY expires_at LIMIT ?",
            now,
            limit,
        )

    # -- the timer ---------------------------------------------------------------

    def next_at(self) -> int | None:
        """The earliest expiry of a pending approval or a waiting wait (epoch ms), or None."""
        row = self._sql.first(
            "SELECT min(t) AS t FROM ("
            "SELECT min(expires_at) AS t FROM dotdo_approvals WHERE status = 'pending' "
            "UNION ALL SELECT min(expires_at) AS t FROM dotdo_event_waits WHERE status = 'waiting')"
        )
        return None if row is None or row["t"] is None else int(row["t"])
