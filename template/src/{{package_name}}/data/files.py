"""Reading and writing tabular data with errors a person can act on.

CSV or Parquet files (or folders of Parquet files), and database tables or queries.
"""

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas.api import types as ptypes

from ..core.errors import UserError

if TYPE_CHECKING:
    import pyarrow.dataset
    import pyarrow.parquet
    import sqlalchemy

SUPPORTED_SUFFIXES = (".csv", ".parquet")
_SEPARATORS = ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes"))


class DataFileError(UserError):
    """A data file is missing, of an unsupported kind, or not what its name says."""


def _kind(path: Path) -> str:
    """``.csv`` or ``.parquet`` (also for a folder of Parquet files), after the common checks."""
    if path.is_dir():
        if not any(path.rglob("*.parquet")):
            raise DataFileError(
                f"{path}: a folder without .parquet files; give a CSV or Parquet file, or a "
                "folder of Parquet files (a partitioned dataset)"
            )
        return ".parquet"
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataFileError(
            f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .parquet"
        )
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty")
    return suffix


def _unreadable(path: Path, kind: str, error: Exception) -> DataFileError:
    name = "CSV" if kind == ".csv" else "Parquet"
    return DataFileError(f"{path}: not a readable {name} file ({error})")


def _check_columns(path: "Source", frame: pd.DataFrame, kind: str) -> None:
    if kind == ".csv" and len(frame.columns) == 1:
        header = str(frame.columns[0])
        for separator, name in _SEPARATORS:
            if separator in header:
                raise DataFileError(
                    f"{path}: columns seem separated by {name}; save it comma-separated"
                )


def _parquet_dataset(path: Path) -> "pyarrow.dataset.Dataset":
    import pyarrow.dataset as ds  # noqa: PLC0415 - only for Parquet

    # Hive-style folders (country=NL/...) become columns; files are read in path order.
    files = sorted(str(file) for file in path.rglob("*.parquet")) if path.is_dir() else [str(path)]
    base = str(path) if path.is_dir() else None
    return ds.dataset(files, format="parquet", partitioning="hive", partition_base_dir=base)


def read_table(path: Path, text_columns: Collection[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file (or folder) into a DataFrame; :class:`DataFileError` on bad input.

    ``text_columns`` of a CSV file are read as written (codes such as ``007`` keep their zeros).
    """
    kind = _kind(path)
    try:
        frame = (
            pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
            if kind == ".csv"
            else _parquet_dataset(path).to_table().to_pandas()
        )
    except (ValueError, OSError) as error:  # pyarrow and pandas parse errors derive from these
        raise _unreadable(path, kind, error) from None
    if frame.empty:
        raise DataFileError(f"{path}: the file has a header but no rows")
    _check_columns(path, frame, kind)
    return as_text(frame, text_columns)


def as_text(frame: pd.DataFrame, text_columns: Collection[str]) -> pd.DataFrame:
    """``frame`` with its ``text_columns`` as text, as a CSV file's are read.

    Whatever the source typed them: a Parquet file's or a database's integer id reads ``"7"``.
    """
    for name in text_columns:
        column = frame.get(name)
        if column is None or not ptypes.is_numeric_dtype(column):
            continue
        present = column.notna()
        if ptypes.is_float_dtype(column) and bool((column[present] % 1 == 0).all()):
            column = column.astype("Int64")  # whole numbers with gaps: "7", not "7.0"
        frame[name] = column.astype(str).where(present)
    return frame


def _unified(first: str, second: str) -> str:
    """The type a whole-file read gives a column that chunks read as ``first`` and ``second``."""
    if first == second:
        return first
    kinds = {first, second}
    if kinds <= {"int64", "float64"}:
        return "float64"
    if kinds == {"bool", "float64"}:  # true/false with missing values
        return "mixed"
    return "object"


@dataclass(frozen=True)
class DatabaseTable:
    """A table, or the rows of a query, in the database at ``url``.

    The URL is a SQLAlchemy URL and a secret: :meth:`__str__` leaves its password out.
    """

    url: str
    table: str | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        if (self.table is None) == (self.query is None):
            raise DataFileError("read from a database with one of --table NAME or --query SQL")

    def __str__(self) -> str:
        import sqlalchemy as sa  # noqa: PLC0415 - only for databases

        where = sa.make_url(self.url).render_as_string(hide_password=True)
        return f"{where} table {self.table}" if self.table else f"{where} query"

    def statement(self) -> "sqlalchemy.TextClause | sqlalchemy.Select[Any]":
        """The SELECT that reads it: a table's name quoted as a name, never pasted into SQL."""
        import sqlalchemy as sa  # noqa: PLC0415

        if self.query is not None:
            return sa.text(self.query)
        schema, _, name = str(self.table).rpartition(".")
        return sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))

    def chunks(self, rows: int | None) -> Iterator[pd.DataFrame]:
        """Its rows, ``rows`` at a time (``None``: all at once), through a server-side cursor.

        The driver then holds one chunk, not the whole result.
        """
        import sqlalchemy as sa  # noqa: PLC0415

        try:
            engine = sa.create_engine(self.url)
        except (sa.exc.ArgumentError, ImportError) as error:
            raise DataFileError(f"{self}: not a database URL SQLAlchemy reads ({error})") from None
        try:
            options = {"stream_results": True, "max_row_buffer": rows or 1000}
            with engine.connect().execution_options(**options) as connection:
                if rows is None:
                    yield pd.read_sql(self.statement(), connection)
                else:
                    yield from pd.read_sql(self.statement(), connection, chunksize=rows)
        except sa.exc.SQLAlchemyError as error:
            cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise DataFileError(f"{self}: cannot be read ({cause})") from None
        finally:
            engine.dispose()


Source = Path | DatabaseTable
"""Where rows come from: a CSV or Parquet file (or folder of Parquet files), or a database."""


class TableChunks:
    """A file (CSV, Parquet, a partitioned folder) or a database table, ``rows`` rows at a time.

    Memory stays flat in the length of the file. A read of the whole file types each column
    once; chunks are typed one by one (a column of whole numbers may hold a gap further on).
    So every pass learns the types a whole read would give, and the passes after it read
    every chunk with them: output written from them is the same as from the whole file.
    ``rows=None`` reads the whole file as one chunk.
    """

    def __init__(
        self, path: Source, text_columns: Collection[str] = (), rows: int | None = None
    ) -> None:
        self.path, self.text_columns, self.rows = path, list(text_columns), rows
        self.kind = "database" if isinstance(path, DatabaseTable) else _kind(path)
        self._types: dict[str, str] = {}
        self._learned = False

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """The chunks, in file order, each indexed by its rows' positions in the file."""
        if self.rows is None and isinstance(self.path, Path):
            yield read_table(self.path, self.text_columns)
            return
        learning = not self._learned
        start = 0
        for read in self._read(self.rows):
            if start == 0:
                _check_columns(self.path, read, self.kind)
            chunk = as_text(read, self.text_columns)
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            if learning:
                for column, dtype in chunk.dtypes.items():
                    seen = self._types.get(str(column))
                    self._types[str(column)] = _unified(seen or str(dtype), str(dtype))
            yield self._typed(chunk)
        if start == 0:
            empty = "no rows" if self.kind == "database" else "the file has a header but no rows"
            raise DataFileError(f"{self.path}: {empty}")
        self._learned = True

    def _read(self, rows: int | None) -> Iterator[pd.DataFrame]:
        source = self.path
        if isinstance(source, DatabaseTable):
            return source.chunks(rows)
        whole = rows or 0  # a whole file is read_table's: never read from here
        return self._csv(source, whole) if self.kind == ".csv" else self._parquet(source, whole)

    def _typed(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """``chunk`` with the types of a whole read, once a pass has learned them."""
        if not self._learned:
            return chunk
        casts: dict[str, str | type] = {}
        for column, dtype in chunk.dtypes.items():
            wanted = self._types.get(str(column), str(dtype))
            if wanted != str(dtype):
                casts[str(column)] = "float64" if wanted == "float64" else object
        return chunk.astype(casts) if casts else chunk

    def _csv(self, path: Path, rows: int) -> Iterator[pd.DataFrame]:
        types: dict[str, type | str] = dict.fromkeys(self.text_columns, str)
        if self._learned:  # what a whole read parses as text stays as written
            types |= {name: str for name, kind in self._types.items() if kind == "object"}
            types |= {name: "float64" for name, kind in self._types.items() if kind == "float64"}
        try:
            with pd.read_csv(path, dtype=types, chunksize=rows) as reader:
                yield from reader
        except (ValueError, OSError) as error:
            raise _unreadable(path, self.kind, error) from None

    def _parquet(self, path: Path, rows: int) -> Iterator[pd.DataFrame]:
        import pyarrow as pa  # noqa: PLC0415

        try:
            scanner = _parquet_dataset(path).scanner(
                batch_size=rows, batch_readahead=1, fragment_readahead=1
            )
            pending: list[pa.RecordBatch] = []
            for batch in scanner.to_batches():
                pending.append(batch)
                if sum(len(part) for part in pending) >= rows:
                    yield pa.Table.from_batches(pending).to_pandas()
                    pending = []
            if pending:
                yield pa.Table.from_batches(pending).to_pandas()
        except (ValueError, OSError) as error:
            raise _unreadable(path, self.kind, error) from None


def read_written(path: Path) -> pd.DataFrame | None:
    """A CSV file's values as written (text; missing stays missing); None for Parquet.

    Tells ``7`` from ``7.0`` and keeps leading zeros, which parsing numbers loses.
    """
    if path.suffix.lower() != ".csv":
        return None
    return pd.read_csv(path, dtype=str)


class TableWriter:
    """A CSV or Parquet file (by its suffix) written chunk by chunk: it appears whole or not at all.

    Use it as a context manager; the file replaces ``path`` when the block ends without error.
    """

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise DataFileError(
                f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .parquet"
            )
        self.path, self.kind = path, suffix
        self._partial = path.with_name(f".{path.name}.partial")
        self._parquet: pyarrow.parquet.ParquetWriter | None = None
        self._written = False

    def __enter__(self) -> "TableWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``; every chunk has the first one's columns and types."""
        if self.kind == ".csv":
            frame.to_csv(
                self._partial,
                mode="a" if self._written else "w",
                index=False,
                header=not self._written,
            )
        else:
            import pyarrow as pa  # noqa: PLC0415 - only for Parquet
            import pyarrow.parquet as pq  # noqa: PLC0415

            schema = self._parquet.schema if self._parquet else None
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._partial, table.schema)
            self._parquet.write_table(table)
        self._written = True

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if kind is None and self._written:
            self._partial.replace(self.path)
        else:
            self._partial.unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as CSV or Parquet, chosen by the file's suffix."""
    with TableWriter(path) as writer:
        writer.write(frame)


def fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of ``frame`` (columns, order and values): same data, same fingerprint."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
