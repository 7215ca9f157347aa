"""Reading and writing tabular data files (CSV or Parquet) with errors a person can act on."""

import hashlib
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from ..core.errors import UserError

SUPPORTED_SUFFIXES = (".csv", ".parquet")


class DataFileError(UserError):
    """A data file is missing, of an unsupported kind, or not what its name says."""


def read_table(path: Path, text_columns: Collection[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, raising :class:`DataFileError` on bad input.

    ``text_columns`` of a CSV file are read as written (codes such as ``007`` keep their zeros).
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataFileError(
            f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .parquet"
        )
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty")
    try:
        frame = (
            pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
            if suffix == ".csv"
            else pd.read_parquet(path)
        )
    except (ValueError, OSError) as error:  # pyarrow and pandas parse errors derive from these
        kind = "CSV" if suffix == ".csv" else "Parquet"
        raise DataFileError(f"{path}: not a readable {kind} file ({error})") from None
    if frame.empty:
        raise DataFileError(f"{path}: the file has a header but no rows")
    if suffix == ".csv" and len(frame.columns) == 1:
        header = str(frame.columns[0])
        for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if separator in header:
                raise DataFileError(
                    f"{path}: columns seem separated by {name}; save it comma-separated"
                )
    return frame


def read_written(path: Path) -> pd.DataFrame | None:
    """A CSV file's values as written (text; missing stays missing); None for Parquet.

    Tells ``7`` from ``7.0`` and keeps leading zeros, which parsing numbers loses.
    """
    if path.suffix.lower() != ".csv":
        return None
    return pd.read_csv(path, dtype=str)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as CSV or Parquet, chosen by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataFileError(
            f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .parquet"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of ``frame`` (columns, order and values): same data, same fingerprint."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
