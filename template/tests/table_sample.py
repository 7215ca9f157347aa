"""A fixed sample of a large data file, for the tests: they judge code, not every row.

A CSV file keeps its text exactly as written (the rows are copied, never parsed into numbers
and written back); a Parquet file or folder keeps its types. The rows are drawn in one pass, a
chunk at a time, so memory stays flat in the length of the file, and the same file always gives
the same rows, in the file's order.
"""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

CHUNK_ROWS = 100_000
"""Rows read at a time while drawing the sample."""


def sample_file(source: Path, destination: Path, rows: int, seed: int = 0) -> int:
    """Write ``rows`` rows of ``source`` drawn at random to ``destination`` (a file); returns
    how many rows ``source`` has. A file of ``rows`` rows or fewer is copied as it is."""
    if source.suffix.lower() == ".csv":
        chunks = pd.read_csv(source, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS)
        kept, total = _draw(chunks, rows, seed)
        kept.to_csv(destination, index=False)
        return total
    import pyarrow.dataset as ds  # only for Parquet
    import pyarrow.parquet as pq

    dataset = ds.dataset(source, format="parquet", partitioning="hive")
    total = int(dataset.count_rows())
    chosen = np.sort(np.random.default_rng(seed).choice(total, min(rows, total), replace=False))
    pq.write_table(dataset.take(chosen), destination)
    return total


def _draw(chunks: "pd.io.parsers.TextFileReader", rows: int, seed: int) -> tuple[pd.DataFrame, int]:
    """A uniform sample of ``rows`` rows over every chunk: each row gets a random key, and the
    ``rows`` smallest keys seen so far are kept (reservoir sampling)."""
    rng = np.random.default_rng(seed)
    kept = pd.DataFrame()
    keys = np.empty(0)
    total = 0
    with chunks as reader:
        for chunk in reader:
            chunk.index = pd.RangeIndex(total, total + len(chunk))
            total += len(chunk)
            kept = pd.concat([kept, chunk]) if len(kept) else chunk
            keys = np.concatenate([keys, rng.random(len(chunk))])
            if len(kept) > rows:
                smallest = np.argpartition(keys, rows)[:rows]
                kept, keys = kept.iloc[smallest], keys[smallest]
    return kept.sort_index(), total


def sample_large_files(
    files: dict[str, Path], folder: Path, rows: int
) -> dict[str, tuple[Path, int]]:
    """For each name whose file (or Parquet folder) has more than ``rows`` rows, a sample of it
    under ``folder``, with the file's name: the sample's path and the file's rows. Missing files
    are left out."""
    sampled: dict[str, tuple[Path, int]] = {}
    for name, path in files.items():
        if not path.exists():
            continue
        csv = path.suffix.lower() == ".csv"
        destination = folder / name / (path.name if csv else f"{path.stem}.parquet")
        destination.parent.mkdir()
        total = sample_file(path, destination, rows)
        if total > rows:
            sampled[name] = (destination, total)
        else:
            shutil.rmtree(destination.parent)
    return sampled
