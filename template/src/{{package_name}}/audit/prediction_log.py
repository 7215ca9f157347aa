"""The prediction log (audit trail) and feedback, in SQLite by default or PostgreSQL by URL.

Writes happen on a background thread so the response path never waits for a database that is
down. What happens to an answered prediction's row (the durability promise, also in the README):

- **Database away** (connection errors): the row waits in memory and is retried with back-off
  (0.5 s doubling to 30 s; new rows do not cut the wait short). Past ``max_pending`` rows
  (100,000, about an hour at 30 rows/s) the oldest are dropped, counted and logged.
- **Row refused** (a permanent error such as text PostgreSQL cannot store): the batch is split
  until the refused rows are found; every other row is written, and each refused row goes to
  the ``dead_letters`` table, escaped, with the reason. Counted and logged once per batch.
- **Graceful stop**: queued rows are written for up to ``stop_seconds``; what is left is spilled
  to a file in ``spill_dir`` that the next start replays. Counted and logged with request ids.
- **kill -9 or a crash**: rows still in memory (at most a few seconds of traffic while the
  database is up; everything pending while it is down) are lost.

A database that is up but slower than the traffic makes ``congested()`` true, and the service
waits for it.
"""

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..core.sqlite_files import create_sqlite_folder

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
    sa.Column("caller", sa.String(64)),  # the token's NAME (APP_API_TOKENS), or anonymous
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
    sa.Column("caller", sa.String(64)),  # who sent it (the token's NAME)
    sa.Column("correction", sa.Boolean),  # false for the first outcome, true for corrections
)
"""True outcomes: one per prediction, then corrections (by callers allowed to), all kept; the
latest counts."""

FIRST_OUTCOME = sa.Index(
    "feedback_first_outcome",
    feedback.c.prediction_id,
    unique=True,
    sqlite_where=feedback.c.correction.is_(False),
    postgresql_where=feedback.c.correction.is_(False),
)
"""At most one first outcome per prediction, even when two arrive at once."""

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(64)),
    sa.Column("row", sa.Text, nullable=False),  # JSON, ASCII only: any character survives
    sa.Column("reason", sa.Text, nullable=False),
)
"""Rows the database refused for good (e.g. a NUL character), kept escaped with the reason."""

rejected_requests = sa.Table(
    "rejected_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),  # in the refused body (1 if unreadable)
    sa.Column("fields", sa.String(500), nullable=False),  # the contract's names it broke
)
"""/predict requests refused with a 4xx: monitoring's rejection rate."""

TABLES = {
    table.name: table
    for table in (predictions, shadow_predictions, feedback, dead_letters, rejected_requests)
}
Row = tuple[sa.Table, dict[str, Any]]


@dataclass
class LogHealth:
    """Callbacks the owner uses to count what happens to rows (metrics, for the service)."""

    on_written: Callable[[int], None] = lambda count: None
    on_failure: Callable[[str], None] = lambda reason: None
    on_dropped: Callable[[int], None] = lambda count: None
    on_pending: Callable[[int], None] = lambda count: None
    on_dead_letter: Callable[[int], None] = lambda count: None
    on_spilled: Callable[[int], None] = lambda count: None
    on_replayed: Callable[[int], None] = lambda count: None
    on_lost: Callable[[int], None] = lambda count: None


@dataclass
class _State:
    pending: deque[Row] = field(default_factory=deque)
    lock: threading.Condition = field(default_factory=threading.Condition)
    stopping: bool = False
    abandon: bool = False  # stop even with rows pending (they are spilled)
    writing: list[Row] = field(default_factory=list)  # the batch being written
    failing: bool = False  # the last write failed


class AlreadyLabelled(Exception):  # noqa: N818 - a state, not a failure of ours
    """The prediction has an outcome, and the caller may not correct it."""


def engine_for(url: str) -> sa.Engine:
    """An engine for ``url``; a relative SQLite path gets its folder created.

    SQLite runs in WAL mode: readers (monitoring) do not block the writer, and a commit does not
    wait for the disk (a power cut may lose the last commits, a crash of the service does not).
    """
    create_sqlite_folder(url)
    # A database host that does not answer fails a connection in 5 s rather than minutes.
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_wal)
    return engine


ADDED_COLUMNS = {
    "predictions": [predictions.c.caller],
    "feedback": [feedback.c.caller, feedback.c.correction],
}
"""Columns added after a table's first release: added to a log written by an older version."""


def prepare_tables(engine: sa.Engine) -> None:
    """Create missing tables, and add the columns a log of an older version lacks."""
    metadata.create_all(engine)
    inspector = sa.inspect(engine)
    for table, columns in ADDED_COLUMNS.items():
        present = {column["name"] for column in inspector.get_columns(table)}
        for column in (column for column in columns if column.name not in present):
            kind = column.type.compile(dialect=engine.dialect)
            with engine.begin() as connection:  # our own names and types: nothing to quote
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}")
    FIRST_OUTCOME.create(engine, checkfirst=True)  # rows of older versions have no flag: kept


def _sqlite_wal(connection: Any, _record: Any) -> None:  # noqa: ANN401 - a DBAPI connection
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass
class _Outcome:
    """What became of one batch."""

    written: int = 0
    refused: list[tuple[Row, str]] = field(default_factory=list)  # with the database's reason
    unwritten: list[Row] = field(default_factory=list)  # the database went away first
    failure: str | None = None


def _escaped(text: str, limit: int = 2000) -> str:
    """``text`` with control and non-ASCII characters escaped (storable anywhere), cut short."""
    return json.dumps(text)[1:-1][:limit]


def _request_ids(rows: list[Row], shown: int = 20) -> str:
    """The request ids of ``rows`` for a log line (the first ``shown`` of them)."""
    ids = sorted({str(row.get("request_id")) for _, row in rows})
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(_escaped(request_id, 64) for request_id in ids[:shown]) + more


def _reason(error: Exception) -> str:
    """The error's type and the first line of its message."""
    message = str(error).splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}"


class PredictionLog:
    """Appends predictions in the background; records feedback synchronously.

    ``clock`` times the back-off between failed writes (injected by tests); ``spill_dir`` keeps
    rows that could not be written by a graceful stop, for the next start to replay.
    """

    def __init__(
        self,
        url: str,
        health: LogHealth | None = None,
        *,
        max_pending: int = 100_000,
        batch_size: int = 500,
        max_backlog: int = 5_000,
        spill_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine_for(url)
        self._health = health or LogHealth()
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._max_backlog = max_backlog
        self._spill_dir = spill_dir
        self._clock = clock
        self._state = _State()
        self._inserts: dict[sa.Table, _DriverInsert | None] = {}
        self._tables_ready = False
        dbapi = self._engine.dialect.loaded_dbapi
        self._transient: tuple[type[Exception], ...] = (
            sa.exc.OperationalError,
            sa.exc.InterfaceError,
            sa.exc.TimeoutError,
            dbapi.OperationalError,
            dbapi.InterfaceError,
        )
        try:
            prepare_tables(self._engine)
            self._tables_ready = True
        except sa.exc.SQLAlchemyError as error:
            logger.error("Prediction log unavailable at start, will retry on write: %s", error)
        self._replay_spilled()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict[str, Any]], table: sa.Table = predictions) -> None:
        """Queue rows of ``table`` for writing; never blocks on the database."""
        self._enqueue([(table, row) for row in rows])

    def _enqueue(self, rows: list[Row], *, first: bool = False) -> None:
        with self._state.lock:
            # Answered after the stop began: to the spill file (checked under the lock, as
            # close() takes what is pending under it).
            abandoned = self._state.abandon
            if first and not abandoned:
                self._state.pending.extendleft(reversed(rows))
            elif not abandoned:
                self._state.pending.extend(rows)
            overflow = len(self._state.pending) - self._max_pending
            dropped = [self._state.pending.popleft() for _ in range(max(overflow, 0))]
            self._health.on_pending(len(self._state.pending))
            self._state.lock.notify_all()
        if abandoned:
            self._spill(rows)
        if dropped:
            self._health.on_dropped(len(dropped))
            logger.error(
                "Prediction log buffer full: dropped the %d oldest rows (requests %s)",
                len(dropped),
                _request_ids(dropped),
            )

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
        """Write what is queued for up to ``timeout``; spill the rest to ``spill_dir``."""
        self.flush(timeout)
        with self._state.lock:
            self._state.stopping = True
            self._state.abandon = True
            self._state.lock.notify_all()
        self._thread.join(timeout)
        with self._state.lock:
            left = list(self._state.pending) + self._state.writing
            self._state.pending.clear()
        if left:
            self._spill(left)
        self._engine.dispose()

    def has_prediction(self, prediction_id: str) -> bool:
        """Whether ``prediction_id`` was logged or waits to be (raises if the log is down)."""
        with self._state.lock:
            queued = [*self._state.writing, *self._state.pending]
        if any(t is predictions and row["prediction_id"] == prediction_id for t, row in queued):
            return True
        query = sa.select(predictions.c.prediction_id).where(
            predictions.c.prediction_id == prediction_id
        )
        with self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def record_feedback(
        self, prediction_id: str, outcome: str | float, *, caller: str, corrects: bool
    ) -> bool:
        """Store the true outcome of a logged prediction; True when it corrects an earlier one.

        Raises :class:`AlreadyLabelled` when an outcome exists and ``corrects`` is false.
        """
        earlier = sa.select(feedback.c.id).where(feedback.c.prediction_id == prediction_id)
        try:
            with self._engine.begin() as connection:
                correction = connection.execute(earlier.limit(1)).first() is not None
                if correction and not corrects:
                    raise AlreadyLabelled(prediction_id)
                row = {
                    "prediction_id": prediction_id,
                    "outcome": json.dumps(outcome),
                    "received_at": now(),
                    "caller": caller,
                    "correction": correction,
                }
                connection.execute(feedback.insert(), [row])
        except sa.exc.IntegrityError:  # another first outcome came in meanwhile
            raise AlreadyLabelled(prediction_id) from None
        return correction

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

    def _write(self, batch: list[Row]) -> None:
        """Write ``batch`` in one transaction."""
        if not self._tables_ready:
            prepare_tables(self._engine)
            self._tables_ready = True
        with self._engine.begin() as connection:
            for table in dict.fromkeys(table for table, _ in batch):
                self._insert(connection, table, [row for of, row in batch if of is table])

    def _write_isolating(self, batch: list[Row]) -> "_Outcome":
        """Write ``batch``, splitting it around rows the database refuses for good.

        A transient error (the database away) stops there: the rows not written yet are
        returned, in order, to be retried.
        """
        outcome = _Outcome()
        chunks = [batch]
        while chunks:
            chunk = chunks.pop()
            try:
                self._write(chunk)
                outcome.written += len(chunk)
            except Exception as error:  # classified below: the writer carries on
                reason = _reason(error)
                if isinstance(error, self._transient):
                    outcome.unwritten = [row for part in [chunk, *reversed(chunks)] for row in part]
                    outcome.failure = reason
                    return outcome
                if len(chunk) > 1:
                    middle = len(chunk) // 2
                    chunks += [chunk[middle:], chunk[:middle]]
                else:
                    outcome.refused.append((chunk[0], reason))
        return outcome

    def _run(self) -> None:
        """Write batches until stopped, retrying with back-off while the database is away."""
        delay = 0.5
        attempts = 0
        while True:
            with self._state.lock:
                while not self._state.pending and not self._state.stopping:
                    self._state.lock.wait()
                if self._state.abandon or (self._state.stopping and not self._state.pending):
                    return
                self._state.writing = [
                    self._state.pending.popleft()
                    for _ in range(min(self._batch_size, len(self._state.pending)))
                ]
                batch = self._state.writing
            outcome = self._write_isolating(batch)
            if outcome.failure is not None:
                self._health.on_failure(outcome.failure)
                if not attempts:  # logged once per outage, not once per try
                    logger.warning(
                        "Prediction log write failed; rows are kept and retried with back-off "
                        "(up to 30 s): %s",
                        outcome.failure,
                    )
            self._settle(outcome)
            if outcome.failure is None:
                if attempts:
                    logger.warning("Prediction log writing again after %d failed tries", attempts)
                delay, attempts = 0.5, 0
                continue
            attempts += 1
            retry_at = self._clock() + delay
            with self._state.lock:  # new rows do not cut the wait short; a stop does
                while not self._state.stopping and (left := retry_at - self._clock()) > 0:
                    self._state.lock.wait(min(left, 1.0))
            delay = min(delay * 2, 30.0)

    def _settle(self, outcome: "_Outcome") -> None:
        """Count what became of a batch; queue its dead letters and unwritten rows first."""
        if outcome.written:
            self._health.on_written(outcome.written)
        letters: list[Row] = []
        lost: list[Row] = []
        for (table, row), reason in outcome.refused:
            if table is dead_letters:  # a dead letter refused in turn: nothing more to try
                lost.append((table, row))
                continue
            letter = {
                "created_at": now(),
                "table_name": table.name,
                "request_id": _escaped(str(row.get("request_id")), 64),
                "row": json.dumps(row, default=str),  # ASCII: control characters escaped
                "reason": _escaped(reason),
            }
            letters.append((dead_letters, letter))
        if letters:
            self._health.on_dead_letter(len(letters))
            logger.error(
                "Prediction log: %d rows refused by the database, kept in dead_letters with the "
                "reason (requests %s): %s",
                len(letters),
                _request_ids(letters),
                letters[0][1]["reason"],
            )
        if lost:
            self._health.on_lost(len(lost))
            logger.error(
                "Prediction log: %d dead letters refused in turn, lost (requests %s)",
                len(lost),
                _request_ids(lost),
            )
        with self._state.lock:
            self._state.pending.extendleft(reversed(outcome.unwritten + letters))
            self._state.failing = outcome.failure is not None
            self._state.writing = []
            self._health.on_pending(len(self._state.pending))
            self._state.lock.notify_all()

    def _spill(self, rows: list[Row]) -> None:
        """Keep ``rows`` in a file of ``spill_dir`` for the next start; count them."""
        if self._spill_dir is None:
            self._health.on_lost(len(rows))
            logger.error(
                "Prediction log: %d rows not written before the stop, lost (requests %s)",
                len(rows),
                _request_ids(rows),
            )
            return
        self._spill_dir.mkdir(parents=True, exist_ok=True)
        name = f"spill-{now():%Y%m%dT%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        path = self._spill_dir / name
        with path.open("w", encoding="utf-8") as output:
            for table, row in rows:
                output.write(json.dumps({"table": table.name, "row": row}, default=_encode) + "\n")
        self._health.on_spilled(len(rows))
        logger.warning(
            "Prediction log: %d rows not written before the stop, spilled to %s for the next "
            "start (requests %s)",
            len(rows),
            path,
            _request_ids(rows),
        )

    def _replay_spilled(self) -> None:
        """Queue the rows spilled by earlier stops (each file claimed by one process only)."""
        if self._spill_dir is None or not self._spill_dir.is_dir():
            return
        rows: list[Row] = []
        for path in sorted(self._spill_dir.glob("spill-*.jsonl")):
            claimed = path.with_suffix(f".replaying-{os.getpid()}")
            try:
                path.rename(claimed)
            except FileNotFoundError:  # another worker claimed it
                continue
            for line in claimed.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                table = TABLES[entry["table"]]
                rows.append((table, _decode(table, entry["row"])))
            claimed.unlink()
        if rows:
            self._enqueue(rows, first=True)
            self._health.on_replayed(len(rows))
            logger.warning(
                "Prediction log: replaying %d rows spilled by an earlier stop", len(rows)
            )


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot spill {type(value).__name__}")


def _decode(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """A spilled row with its date-times parsed back."""
    for column in table.columns:
        if isinstance(column.type, sa.DateTime) and isinstance(row.get(column.name), str):
            row[column.name] = datetime.fromisoformat(row[column.name])
    return row


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
        prepare_tables(engine)  # a log that was never written is an empty window
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


def read_rejections(url: str, *, rows: int, since: datetime | None = None) -> int:
    """Records refused by /predict in the latest ``rows`` refused requests (since ``since``)."""
    engine = engine_for(url)
    try:
        metadata.create_all(engine)
        recent = sa.select(rejected_requests.c.records).order_by(rejected_requests.c.id.desc())
        if since is not None:
            recent = recent.where(rejected_requests.c.created_at >= since)
        query = sa.select(sa.func.coalesce(sa.func.sum(recent.limit(rows).subquery().c.records), 0))
        with engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()
