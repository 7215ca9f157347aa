"""The prediction log (audit trail) and feedback, in SQLite by default or PostgreSQL by URL.

Writes happen on a background thread so the response path never waits for a database that is
down: a write that fails is kept and retried with back-off; only past ``max_pending`` rows are the
oldest dropped, and every failure and drop is counted and logged with its reason. A database that
is up but slower than the traffic makes ``congested()`` true, and the service waits for it.
"""

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

logger = logging.getLogger(__name__)

metadata = sa.MetaData()

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("prediction_id", sa.String(80), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(128)),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("prediction", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float),
    sa.Column("needs_review", sa.Boolean, nullable=False),
    sa.Column("explanation", sa.String(200)),
    sa.Column("latency_ms", sa.Float, nullable=False),
)

shadow_predictions = sa.Table(
    "shadow_predictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prediction_id", sa.String(80), nullable=False, index=True),  # the champion's
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False, index=True),
    sa.Column("prediction", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float),
    sa.Column("latency_ms", sa.Float, nullable=False),
)
"""What the challenger answered in shadow mode, for the champion's prediction it shadows."""

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("prediction_id", sa.String(80), nullable=False, index=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass
class LogHealth:
    """Callbacks the owner uses to count writes, failures and drops (metrics, for the service)."""

    on_written: Callable[[int], None] = lambda count: None
    on_failure: Callable[[str], None] = lambda reason: None
    on_dropped: Callable[[int], None] = lambda count: None
    on_pending: Callable[[int], None] = lambda count: None


@dataclass
class _State:
    pending: deque[tuple[sa.Table, dict[str, Any]]] = field(default_factory=deque)
    lock: threading.Condition = field(default_factory=threading.Condition)
    stopping: bool = False
    writing: bool = False
    failing: bool = False  # the last write failed


def engine_for(url: str) -> sa.Engine:
    """An engine for ``url``; a relative SQLite path gets its folder created.

    SQLite runs in WAL mode: readers (monitoring) do not block the writer, and a commit does not
    wait for the disk (a power cut may lose the last commits, a crash of the service does not).
    """
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_wal)
    return engine


def _sqlite_wal(connection: Any, _record: Any) -> None:  # noqa: ANN401 - a DBAPI connection
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class PredictionLog:
    """Appends predictions in the background; records feedback synchronously."""

    def __init__(
        self,
        url: str,
        health: LogHealth | None = None,
        max_pending: int = 100_000,
        batch_size: int = 500,
        max_backlog: int = 5_000,
    ) -> None:
        self._engine = engine_for(url)
        self._health = health or LogHealth()
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._max_backlog = max_backlog
        self._state = _State()
        self._inserts: dict[sa.Table, _DriverInsert | None] = {}
        self._tables_ready = False
        try:
            metadata.create_all(self._engine)
            self._tables_ready = True
        except sa.exc.SQLAlchemyError as error:
            logger.error("Prediction log unavailable at start, will retry on write: %s", error)
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict[str, Any]], table: sa.Table = predictions) -> None:
        """Queue rows of ``table`` for writing; never blocks on the database."""
        with self._state.lock:
            self._state.pending.extend((table, row) for row in rows)
            overflow = len(self._state.pending) - self._max_pending
            for _ in range(max(overflow, 0)):
                self._state.pending.popleft()
            self._health.on_pending(len(self._state.pending))
            self._state.lock.notify()
        if overflow > 0:
            self._health.on_dropped(overflow)
            logger.error("Prediction log buffer full: dropped the %d oldest rows", overflow)

    def congested(self) -> bool:
        """Whether more than ``max_backlog`` rows wait although writes succeed.

        Rows then come faster than the database takes them: callers should wait rather than have
        rows dropped later. While the database fails, they do not wait (rows queue up to
        ``max_pending``).
        """
        return not self._state.failing and len(self._state.pending) > self._max_backlog

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row is written; False if that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._state.lock:
            while self._state.pending or self._state.writing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._state.lock.wait(min(remaining, 0.05))
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (up to ``timeout``), then stop the writer."""
        self.flush(timeout)
        with self._state.lock:
            self._state.stopping = True
            self._state.lock.notify()
        self._thread.join(timeout)
        self._engine.dispose()

    def has_prediction(self, prediction_id: str) -> bool:
        """Whether the log holds ``prediction_id`` (after writing what is queued)."""
        self.flush()
        query = sa.select(predictions.c.prediction_id).where(
            predictions.c.prediction_id == prediction_id
        )
        with self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def record_feedback(self, prediction_id: str, outcome: str | float) -> None:
        """Store the true outcome of a logged prediction."""
        row = {"prediction_id": prediction_id, "outcome": json.dumps(outcome), "received_at": now()}
        with self._engine.begin() as connection:
            connection.execute(feedback.insert(), [row])

    def _insert(
        self, connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]
    ) -> None:
        """Insert ``rows`` through the driver (see :class:`_DriverInsert`)."""
        if table not in self._inserts:
            self._inserts[table] = _DriverInsert.of(table, connection.dialect)
        insert = self._inserts[table]
        if insert is None:
            connection.execute(table.insert(), rows)
        else:
            insert.write(connection, rows)

    def _run(self) -> None:
        delay = 0.5
        while True:
            with self._state.lock:
                while not self._state.pending and not self._state.stopping:
                    self._state.lock.wait()
                if self._state.stopping and not self._state.pending:
                    return
                batch = [
                    self._state.pending.popleft()
                    for _ in range(min(self._batch_size, len(self._state.pending)))
                ]
                self._state.writing = True
            try:
                with self._engine.begin() as connection:
                    if not self._tables_ready:
                        metadata.create_all(connection)
                    for table in dict.fromkeys(table for table, _ in batch):
                        rows = [row for of, row in batch if of is table]
                        self._insert(connection, table, rows)
                self._tables_ready = True
            except (sa.exc.SQLAlchemyError, self._engine.dialect.loaded_dbapi.Error) as error:
                reason = str(error).splitlines()[0]
                logger.warning("Prediction log write failed, retrying in %.1fs: %s", delay, reason)
                self._health.on_failure(reason)
                with self._state.lock:
                    self._state.pending.extendleft(reversed(batch))
                    self._state.failing = True
                    self._state.writing = False
                    self._state.lock.notify_all()
                    self._state.lock.wait(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 0.5
            self._health.on_written(len(batch))
            with self._state.lock:
                self._state.failing = False
                self._state.writing = False
                self._health.on_pending(len(self._state.pending))
                self._state.lock.notify_all()


@dataclass(frozen=True)
class _DriverInsert:
    """Rows written in the driver's own terms: COPY on PostgreSQL, many-row INSERTs on SQLite.

    SQLAlchemy's work per row cost a third of the writer's time; worse, a statement per row made
    the driver leave and take back the interpreter lock once per row, and with requests busy on
    it each time meant a wait: under load, the writer fell behind by a factor of a hundred.
    """

    table: str
    columns: tuple[str, ...]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # position, SQLAlchemy's conversion
    copy: bool  # PostgreSQL (psycopg): COPY; else INSERT ... VALUES (...), (...)
    chunk: int  # rows per INSERT, within the driver's limit on parameters

    @classmethod
    def of(cls, table: sa.Table, dialect: sa.Dialect) -> "_DriverInsert | None":
        """None for databases other than PostgreSQL (psycopg) and SQLite."""
        copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        if not copy and dialect.name != "sqlite":
            return None
        columns = [column for column in table.columns if column.autoincrement is not True]
        processors = []
        for position, column in enumerate(columns):
            processor = column.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((position, processor))
        most_parameters = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
        names = tuple(column.name for column in columns)
        chunk = min(500, most_parameters // len(names))
        return cls(table.name, names, tuple(processors), copy, chunk)

    def write(self, connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
        """Write ``rows`` in ``connection``'s transaction."""
        values = self._values(rows)
        names = ", ".join(self.columns)
        if self.copy:
            cursor = connection.connection.cursor()
            with cursor.copy(f"COPY {self.table} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        row_values = f"({', '.join('?' for _ in self.columns)})"
        for start in range(0, len(values), self.chunk):
            chunk = values[start : start + self.chunk]
            many = ", ".join([row_values] * len(chunk))
            sql = f"INSERT INTO {self.table} ({names}) VALUES {many}"  # noqa: S608 - our names
            connection.exec_driver_sql(sql, tuple(value for row in chunk for value in row))

    def _values(self, rows: list[dict[str, Any]]) -> list[list[Any]]:
        """Each row's values in column order, converted as SQLAlchemy would."""
        converted: dict[tuple[int, Any], Any] = {}  # rows of a request share most values
        result = []
        for row in rows:
            values = [row.get(name) for name in self.columns]
            for position, processor in self.processors:
                key = (position, values[position])
                if key not in converted:
                    converted[key] = processor(values[position])
                values[position] = converted[key]
            result.append(values)
        return result


def with_latest_feedback(query: sa.Select[Any]) -> sa.Select[Any]:
    """``query`` on predictions, with the latest feedback of each prediction outer-joined."""
    latest = (
        sa.select(feedback.c.prediction_id, sa.func.max(feedback.c.id).label("feedback_id"))
        .group_by(feedback.c.prediction_id)
        .subquery()
    )
    return query.outerjoin(latest, latest.c.prediction_id == predictions.c.prediction_id).outerjoin(
        feedback, feedback.c.id == latest.c.feedback_id
    )


def read_window(url: str, *, rows: int, since: datetime | None = None) -> pd.DataFrame:
    """The most recent ``rows`` predictions (newer than ``since``), oldest first.

    Columns: prediction_id, created_at, model_version, prediction, outcome (the latest feedback,
    or missing), and one column per logged input field.
    """
    engine = engine_for(url)
    try:
        metadata.create_all(engine)  # a log that was never written is an empty window
        query = (
            with_latest_feedback(
                sa.select(
                    predictions.c.prediction_id,
                    predictions.c.created_at,
                    predictions.c.model_version,
                    predictions.c.inputs,
                    predictions.c.prediction,
                    feedback.c.outcome,
                )
            )
            .order_by(predictions.c.created_at.desc(), predictions.c.prediction_id.desc())
            .limit(rows)
        )
        if since is not None:
            query = query.where(predictions.c.created_at >= since)
        with engine.connect() as connection:
            found = list(connection.execute(query).all())
    finally:
        engine.dispose()
    found.reverse()
    inputs = pd.DataFrame.from_records([json.loads(row.inputs) for row in found])
    logged = pd.DataFrame(
        {
            "prediction_id": [row.prediction_id for row in found],
            "created_at": [row.created_at for row in found],
            "model_version": [row.model_version for row in found],
            "prediction": [json.loads(row.prediction) for row in found],
            "outcome": [None if row.outcome is None else json.loads(row.outcome) for row in found],
        }
    )
    return pd.concat([logged, inputs.drop(columns=logged.columns, errors="ignore")], axis=1)
