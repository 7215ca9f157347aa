"""One retraining run at a time, whoever started it: the schedule, a drift alert or a person.

The lock is a PostgreSQL advisory lock when the prediction log is on PostgreSQL (every machine
that shares the database sees it); otherwise a file lock beside the registry's SQLite file, or in
``.local/`` for a remote registry (this machine only). A run that finds the lock taken stops at
once, before it reads anything. The lock goes when its run ends, and with the process if it is
killed: the operating system drops a file lock, PostgreSQL a dead session's advisory lock.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock
import sqlalchemy as sa

from ..audit.prediction_log import engine_for
from ..config.settings import Settings
from ..core.errors import RetrainingError
from ..core.sqlite_files import sqlite_file


def lock_place(settings: Settings) -> str:
    """Where the lock of this project's retraining runs lives: a database URL or a file."""
    log_url = settings.prediction_log_url.get_secret_value()
    if log_url.startswith("postgresql"):
        return log_url
    registry_file = sqlite_file(settings.mlflow_tracking_uri)
    folder = registry_file.parent if registry_file is not None else Path(".local")
    return str(folder / f"{settings.model_name}.retraining.lock")


def _busy(where: str) -> RetrainingError:
    return RetrainingError(
        f"another retraining run is in progress (lock: {where}); this one stopped before "
        "reading anything: wait for that run to end (`make history` shows its decision), "
        "then run again"
    )


@contextmanager
def retraining_lock(settings: Settings) -> Iterator[None]:
    """Hold the project's retraining lock, or raise :class:`RetrainingError` if it is taken."""
    place = lock_place(settings)
    if place.startswith("postgresql"):
        with _advisory_lock(place, settings.model_name):
            yield
        return
    path = Path(place)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(path, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise _busy(str(path)) from None
    try:
        yield
    finally:
        lock.release()


def _lock_key(model_name: str) -> int:
    """A 64-bit key of its own for this model's runs (advisory locks are numbers)."""
    digest = hashlib.sha256(f"retraining:{model_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(url: str, model_name: str) -> Iterator[None]:
    engine = engine_for(url)
    key = _lock_key(model_name)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            taken = connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            if not taken:
                where = sa.make_url(url).render_as_string(hide_password=True)
                raise _busy(f"PostgreSQL advisory lock {key} on {where}")
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()
