"""The one task runner: rows that a job claims, holds for a lease, and retries.

Outbox sends, calendar syncs, conference tasks and notification emails are all rows with a
status, a count of attempts, the time of the next attempt, the time a worker claimed them
and the last error. A job takes its row with one conditional UPDATE (claim()), so two
workers never both run it; a worker that dies loses its claim when the lease runs out; a
failure that may pass is tried again after backoff() (or the provider's Retry-After) until
the kind's attempts run out. Which rows are due is one condition (due()) used by the job,
the relay and the sweep alike.

Domains describe their rows with a TaskKind and register what the relay (after a commit)
and the periodic sweep must do (register_relay(), register_sweep()); the worker runs the
registry. This module and webapp.jobs import no domain module.

Job side: claim() commits, so that the claim holds before the work starts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = 30
BACKOFF_CAP = 3600


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with a cap: 30 s, 60 s, 120 s, ... at most an hour."""
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


class ClaimableRow:
    """Columns of a row the task runner works on (a mixin for models)."""

    #: pending, then the kind's claimed status while a worker has it, then done or failed.
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: When a worker claimed it; with status claimed, a lease older than LEASE lapses.
    claimed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)


@dataclasses.dataclass(frozen=True)
class TaskKind:
    """How the runner reads one kind of row."""

    model: type
    #: The status of a claimed row ("sending", "syncing", "running").
    claimed: str
    #: Seconds a claim holds: a number, or a config key to read it from.
    lease: int | str
    #: Attempts before the row fails for good: a number, or a config key.
    max_attempts: int | str
    #: Column names are prefixed (a notification's email_status, email_attempts, ...).
    prefix: str = ""
    #: Columns named otherwise still ({"last_error": "email_error"}).
    names: tuple[tuple[str, str], ...] = ()

    def name(self, column: str) -> str:
        return dict(self.names).get(column, self.prefix + column)

    def col(self, column: str):
        return getattr(self.model, self.name(column))

    def get(self, row, column: str):
        return getattr(row, self.name(column))

    def set(self, row, **values) -> None:
        for column, value in values.items():
            setattr(row, self.name(column), value)

    def _setting(self, value: int | str) -> int:
        return int(current_app.config[value]) if isinstance(value, str) else value

    @property
    def lease_time(self) -> timedelta:
        return timedelta(seconds=self._setting(self.lease))

    @property
    def attempts_allowed(self) -> int:
        return self._setting(self.max_attempts)


def due(kind: TaskKind, now: datetime | None = None):
    """The rows a worker may take now: pending and due, or claimed by a worker whose
    lease ran out."""
    now = now or utcnow()
    return sa.or_(
        sa.and_(kind.col("status") == "pending", kind.col("next_attempt_at") <= now),
        sa.and_(kind.col("status") == kind.claimed,
                kind.col("claimed_at") < now - kind.lease_time))


def due_ids(kind: TaskKind, limit: int = 500) -> list[int]:
    """Ids of due rows, oldest first."""
    return list(db.session.scalars(sa.select(kind.model.id).where(due(kind))
                                   .order_by(kind.model.id).limit(limit)))


def claim(kind: TaskKind, ids: list[int] | int) -> set[int]:
    """Take the rows no other worker has: one conditional UPDATE, committed before any
    work starts. Returns the ids this call won."""
    ids = [ids] if isinstance(ids, int) else list(ids)
    if not ids:
        return set()
    now = utcnow()
    result = db.session.execute(
        sa.update(kind.model).where(kind.model.id.in_(ids), due(kind, now))
        .values({kind.name("status"): kind.claimed, kind.name("claimed_at"): now,
                 kind.name("attempts"): kind.col("attempts") + 1})
        .returning(kind.model.id)
        .execution_options(synchronize_session=False))
    won = set(result.scalars())
    db.session.commit()
    return won


def retry_values(kind: TaskKind, attempts: int, error: str, *, retryable: bool = True,
                 retry_after: float | None = None) -> dict:
    """The columns (unprefixed) of a row after a failed attempt, its attempts counted
    already: pending again after backoff (or retry_after) while attempts remain and the
    error may pass, else failed."""
    values: dict = {"last_error": error[:2000]}
    if retryable and attempts < kind.attempts_allowed:
        wait = timedelta(seconds=retry_after) if retry_after is not None else backoff(attempts)
        values.update(status="pending", next_attempt_at=utcnow() + wait)
    else:
        values["status"] = "failed"
    return values


def schedule_retry(kind: TaskKind, row, error: str, *, retryable: bool = True,
                   retry_after: float | None = None) -> str:
    """retry_values() set on a loaded row (the caller commits with the rest of its
    work). Returns the row's new status."""
    kind.set(row, **retry_values(kind, kind.get(row, "attempts"), error,
                                 retryable=retryable, retry_after=retry_after))
    return kind.get(row, "status")


def retry_now(kind: TaskKind, row) -> bool:
    """A failed row back in the queue at once, its attempts counted afresh (the user's
    Retry). Request side: flushes."""
    if kind.get(row, "status") != "failed":
        return False
    kind.set(row, status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
    db.session.flush()
    return True


def enqueue_due(kind: TaskKind, job: str, limit: int = 500) -> int:
    """Hand due rows to the queue, one job each (the relay and the sweep). Returns how
    many were queued; stops at the first the queue refuses (the sweep tries again)."""
    from webapp import jobs

    ids = due_ids(kind, limit)
    db.session.commit()
    done = 0
    for row_id in ids:
        if not jobs.enqueue(job, row_id):
            break
        done += 1
    return done


# --- The registry: what the relay and the sweep run ------------------------------------

#: (order, name, step). A relay step hands rows committed by a request to the queue; a
#: sweep step is the periodic pass and may return the seconds until it has work again.
_RELAYS: list[tuple[int, str, Callable[[], object]]] = []
_SWEEPS: list[tuple[int, str, Callable[[], float | None]]] = []


def _register(registry: list, order: int, name: str, step: Callable) -> None:
    registry[:] = [r for r in registry if r[1] != name]  # a module imported again
    registry.append((order, name, step))
    registry.sort(key=lambda r: r[0])


def register_relay(order: int, name: str, step: Callable[[], object]) -> None:
    """Run step in every relay, in order (lower first)."""
    _register(_RELAYS, order, name, step)


def register_sweep(order: int, name: str, step: Callable[[float], float | None]) -> None:
    """Run step(interval) in every periodic sweep, in order (lower first). It returns the
    seconds until it has work again when that is sooner than interval, else None; never
    a count (a count of 0 would be read as "work now" and spin the sweep)."""
    _register(_SWEEPS, order, name, step)


def relay() -> None:
    """Every registered relay step, in order."""
    for _order, _name, step in list(_RELAYS):
        step()


def sweep(interval: float) -> float:
    """Every registered sweep step, in order; one that fails does not stop the others.
    Returns how long to sleep: interval, or less when a step has work sooner."""
    wait = interval
    for _order, name, step in list(_SWEEPS):
        try:
            sooner = step(interval)
        except Exception:
            db.session.rollback()
            log.exception("sweep step %s failed", name)
            continue
        if isinstance(sooner, int | float) and not isinstance(sooner, bool):
            wait = min(wait, max(0.0, float(sooner)))
    return wait


class OwedEmail:
    """Columns of a row that owes one email (a mention notification, a proposal to a
    contact), worked on by the task runner under email_kind(model) (a mixin for models)."""

    #: pending, sending (claimed by a worker), sent, failed (gave up), skipped.
    email_status: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending")
    email_attempts: so.Mapped[int] = so.mapped_column(default=0)
    email_next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    email_claimed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    emailed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    email_error: so.Mapped[str | None] = so.mapped_column(sa.Text)


def email_kind(model: type) -> TaskKind:
    """The task kind of an OwedEmail model: sent like the outbox's messages."""
    return TaskKind(model, claimed="sending", lease="SEND_LEASE_SECONDS",
                    max_attempts="SEND_MAX_ATTEMPTS", prefix="email_",
                    names=(("last_error", "email_error"),))
