"""The run engine's SQL: workflow runs (`dotdo_workflow_runs`) and their durable steps
(`action_log`, keyed by "<run id>/<step id>", or by the step id alone outside a run)."""

from __future__ import annotations

from dotdo.core.page_rows import PageColumns
from dotdo.core.sql import Sql
from dotdo.types import Row

__all__ = ["RunStore"]

_RUN = "SELECT id, name, status, error, next_at, created_at, updated_at FROM dotdo_workflow_runs"
_RUN_COLUMNS = PageColumns(
    ("id", "name", "status", "error", "next_at", "created_at", "updated_at"),
    key="id",
    by_key=f"{_RUN} WHERE id IN (SELECT value FROM json_each(?))",
    measured=("name", "error"),
)
"""A page of runs (`Sql.page`): `_RUN`'s columns; the larger ones read by id."""


class RunStore:
    """Rows of `dotdo_workflow_runs` (`status`: running, waiting, completed, failed) and of
    `action_log` (`status`: pending, completed, failed), in `sql`. Times are epoch ms."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    # -- runs ------------------------------------------------------------------

    def create(self, run_id: str, name: str, input: str, lease_until: int, now: int) -> bool:
        """A new running run, unless `run_id` exists; True when created. `input` is JSON text."""
        written = self._sql.run(
            "INSERT INTO dotdo_workflow_runs (id, name, input, status, next_at, created_at, updated_at) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            run_id,
            name,
            input,
            lease_until,
            now,
            now,
        )
        return written > 0

    def run(self, run_id: str) -> Row | None:
        """`name, input, status` of a run, or None."""
        return self._sql.first("SELECT name, input, status FROM dotdo_workflow_runs WHERE id = ?", run_id)

    def status(self, run_id: str) -> Row | None:
        """What `GET /workflows/:id` shows, `result` as JSON text; or None."""
        return self._sql.first(
            "SELECT id, name, status, result, error, next_at, created_at, updated_at "
            "FROM dotdo_workflow_runs WHERE id = ?",
            run_id,
        )

    def lease(self, run_id: str, until: int, now: int) -> None:
        """The run is running here until `until`; after that the alarm takes it for lost."""
        self._sql.run(
            "UPDATE dotdo_workflow_runs SET status = 'running', next_at = ?, updated_at = ? WHERE id = ?",
            until,
            now,
            run_id,
        )

    def finish(
        self,
        run_id: str,
        status: str,
        now: int,
        next_at: int | None = None,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        """The run ended (`completed`, `failed`) or waits (`waiting` until `next_at`)."""
        self._sql.run(
            "UPDATE dotdo_workflow_runs SET status = ?, next_at = ?, result = ?, error = ?, updated_at = ? "
            "WHERE id = ?",
            status,
            next_at,
            result,
            error,
            now,
            run_id,
        )

    def wake(self, run_id: str, now: int) -> bool:
        """A waiting run becomes due at `now`; True when the run was waiting."""
        written = self._sql.run(
            "UPDATE dotdo_workflow_runs SET next_at = ?, updated_at = ? WHERE id = ? AND status = 'waiting'",
            now,
            now,
            run_id,
        )
        return written > 0

    def due(self, now: int, limit: int) -> list[str]:
        """Ids of the active runs due at `now`, earliest first."""
        rows = self._sql.exec(
            "SELECT id FROM dotdo_workflow_runs WHERE status IN ('running', 'waiting') AND next_at <= ? "
            "ORDER BY next_at LIMIT ?",
            now,
            limit,
        )
        return [str(row["id"]) for row in rows]

    def next_at(self) -> int | None:
        """The earliest `next_at` (epoch ms) of a running or waiting run, or None."""
        row = self._sql.first(
            "SELECT min(next_at) AS t FROM dotdo_workflow_runs WHERE status IN ('running', 'waiting')"
        )
        return None if row is None or row["t"] is None else int(row["t"])

    def page(
        self, status: str | None, name: str | None, after: str | None, limit: int
    ) -> tuple[list[Row], bool]:
        """Up to `limit` runs by id after `after`, of `status` and workflow `name` when given:
        what `GET /workflows/:id` shows but the result (a page answers its runs' states); and
        whether they were cut by their bytes first (`Sql.page`: an error is 4,096 characters)."""
        return self._sql.page(
            f"{_RUN} WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR name = ?2) "
            "AND (?3 IS NULL OR id > ?3) ORDER BY id LIMIT ?4",
            status,
            name,
            after,
            limit,
            columns=_RUN_COLUMNS,
            rows=limit,
        )

    # -- steps -----------------------------------------------------------------

    def step(self, key: str) -> Row | None:
        """`status, result, error, attempts, next_at, name` of a recorded step, or None."""
        return self._sql.first(
            "SELECT status, result, error, attempts, next_at, name FROM action_log WHERE step_id = ?", key
        )

    def complete_step(
        self, key: str, result: str | None, attempts: int, run_id: str | None, name: str, now: int
    ) -> None:
        """Record a step's result (`result` JSON text, None for none) after `attempts` tries,
        with the action it ran (`name`, compared on replay, ADR 0007)."""
        self._sql.run(
            "INSERT INTO action_log (step_id, status, result, attempts, run_id, updated_at, name) "
            "VALUES (?, 'completed', ?, ?, ?, ?, ?) ON CONFLICT(step_id) DO UPDATE SET status = 'completed', "
            "result = excluded.result, error = NULL, attempts = excluded.attempts, next_at = NULL, "
            "updated_at = excluded.updated_at, name = excluded.name",
            key,
            result,
            attempts,
            run_id,
            now,
            name,
        )

    def fail_step(
        self,
        key: str,
        status: str,
        error: str,
        attempts: int,
        next_at: int | None,
        run_id: str,
        name: str,
        now: int,
    ) -> None:
        """A failed attempt: `status` 'pending' (retried at `next_at`) or 'failed'."""
        self._sql.run(
            "INSERT INTO action_log (step_id, status, error, attempts, next_at, run_id, updated_at, name) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(step_id) DO UPDATE SET status = excluded.status, "
            "error = excluded.error, attempts = excluded.attempts, next_at = excluded.next_at, "
            "updated_at = excluded.updated_at, name = excluded.name",
            key,
            status,
            error,
            attempts,
            next_at,
            run_id,
            now,
            name,
        )
