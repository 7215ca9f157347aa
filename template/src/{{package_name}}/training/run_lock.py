"""Locks that keep retraining runs, and moves of the champion, from overlapping.

A lock is a PostgreSQL advisory lock when the prediction log is on PostgreSQL (every machine
that shares the database sees it); otherwise a file lock beside the registry's SQLite file, or in
``.local/`` for a remote registry (this machine only). A lock goes when its holder ends, and with
the process if it is killed: the operating system drops a file lock, PostgreSQL a dead session's
advisory lock.

- **Retraining** (:func:`retraining_lock`): a whole run holds it, whoever started it (the
  schedule, a drift alert, a person). A run that finds it taken stops at once.
- **The champion** (:func:`champion_lock`): held for the few registry calls of one promotion or
  rollback, so that a move reads the champion and replaces it with nothing moving in between.
  A move waits a little for another to finish.
"""

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import filelock
import sqlalchemy as sa

from ..audit.prediction_log import engine_for
from ..config.settings import Settings
from ..core.errors import PromotionError, RetrainingError
from ..core.sqlite_files import sqlite_file

POLL_SECONDS = 0.2
"""How often a waiting process tries a lock again."""

CHAMPION_WAIT_SECONDS = 60.0
"""How long a promotion or rollback waits for another one to finish."""

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def lock_place(settings: Settings, purpose: str) -> str:
    """Where the project's lock for ``purpose`` lives: a PostgreSQL URL, or a file."""
    log_url = settings.prediction_log_url.get_secret_value()
    if log_url.startswith("postgresql"):
        return log_url
    registry_file = sqlite_file(settings.mlflow_tracking_uri)
    folder = registry_file.parent if registry_file is not None else Path(".local")
    return str(folder / f"{settings.model_name}.{purpose}.lock")


@contextmanager
def exclusive(
    settings: Settings,
    purpose: str,
    taken: Callable[[str], Exception],
    *,
    wait_seconds: float = 0.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Iterator[None]:
    """Hold the project's lock for ``purpose``, waiting up to ``wait_seconds`` for it.

    If another process still holds it then, raises ``taken(where)``, ``where`` naming the lock
    (never a password).
    """
    place = lock_place(settings, purpose)
    deadline = clock() + wait_seconds
    if place.startswith("postgresql"):
        engine = engine_for(place)
        key = _lock_key(f"{purpose}:{settings.model_name}")
        database = sa.make_url(place).render_as_string(hide_password=True)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:

                def try_advisory() -> bool:
                    try_lock = sa.text("SELECT pg_try_advisory_lock(:key)")
                    return bool(connection.scalar(try_lock, {"key": key}))

                where = f"PostgreSQL advisory lock {key} on {database}"
                _acquire(try_advisory, lambda: taken(where), deadline, clock, sleep)
                try:
                    yield
                finally:
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        finally:
            engine.dispose()
        return
    path = Path(place)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(path, timeout=0)

    def try_file() -> bool:
        try:
            lock.acquire()
        except filelock.Timeout:
            return False
        return True

    _acquire(try_file, lambda: taken(str(path)), deadline, clock, sleep)
    try:
        yield
    finally:
        lock.release()


def _acquire(
    try_once: Callable[[], bool],
    taken: Callable[[], Exception],
    deadline: float,
    clock: Clock,
    sleep: Sleep,
) -> None:
    while not try_once():
        if clock() >= deadline:
            raise taken()
        sleep(POLL_SECONDS)


def _lock_key(name: str) -> int:
    """A 64-bit key of the lock's own (PostgreSQL's advisory locks are numbers)."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _retraining_busy(where: str) -> RetrainingError:
    return RetrainingError(
        f"another retraining run is in progress (lock: {where}); this one stopped before "
        "reading anything: wait for that run to end (`make history` shows its decision), "
        "then run again"
    )


def retraining_lock(settings: Settings) -> AbstractContextManager[None]:
    """Hold the retraining lock for a run, or raise :class:`RetrainingError` at once."""
    return exclusive(settings, "retraining", _retraining_busy)


def _champion_busy(where: str) -> PromotionError:
    return PromotionError(
        f"another promotion or rollback did not finish within {CHAMPION_WAIT_SECONDS:.0f} s "
        f"(lock: {where}); nothing moved: see `make history`, then run again"
    )


def champion_lock(
    settings: Settings, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
) -> AbstractContextManager[None]:
    """Hold the champion lock for one move, waiting for another move to finish first."""
    return exclusive(
        settings,
        "champion",
        _champion_busy,
        wait_seconds=CHAMPION_WAIT_SECONDS,
        clock=clock,
        sleep=sleep,
    )
