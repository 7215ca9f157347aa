"""The tests' sample of a large data file (table_sample.py): rows as written, in file order,
drawn from the whole file, the same every run."""

from pathlib import Path

import pandas as pd
import pytest

import table_sample
from table_sample import sample_file, sample_large_files


def _written(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture
def awkward_csv(tmp_path: Path) -> Path:
    """1,000 rows a parser would change if it wrote them back: zeros, decimals, gaps, quotes."""
    rows = [f'{i},00{i % 7},{i}.50,,"Smith, J. {i}"' for i in range(1_000)]
    path = tmp_path / "orders 2024.csv"
    path.write_text("n,code,amount,empty,name\n" + "\n".join(rows) + "\n")
    return path


def test_a_csv_sample_keeps_the_rows_as_written_in_file_order_from_the_whole_file(
    awkward_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_sample, "CHUNK_ROWS", 64)  # many chunks, as a large file has
    assert sample_file(awkward_csv, tmp_path / "a.csv", 100) == 1_000
    sample, whole = _written(tmp_path / "a.csv"), _written(awkward_csv)
    assert len(sample) == 100
    positions = sample["n"].astype(int)
    assert positions.is_monotonic_increasing
    pd.testing.assert_frame_equal(sample, whole.iloc[positions].reset_index(drop=True))
    assert positions.min() < 200 and positions.max() > 800  # noqa: PT018 - one spread
    sample_file(awkward_csv, tmp_path / "b.csv", 100)
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()


def test_a_parquet_sample_keeps_the_types(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"n": range(500), "code": pd.array([7, None] * 250, dtype="Int64"), "x": [0.5] * 500}
    )
    frame.to_parquet(tmp_path / "t.parquet")
    assert sample_file(tmp_path / "t.parquet", tmp_path / "s.parquet", 50) == 500
    sample = pd.read_parquet(tmp_path / "s.parquet")
    assert len(sample) == 50
    assert sample["n"].is_monotonic_increasing
    pd.testing.assert_frame_equal(
        sample, frame.iloc[sample["n"]].reset_index(drop=True), check_dtype=True
    )


def test_only_files_past_the_limit_are_sampled(awkward_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "samples"
    folder.mkdir()
    small = tmp_path / "small.csv"
    small.write_text("n\n1\n2\n")
    files = {"TRAIN": awkward_csv, "HOLDOUT": small, "MISSING": tmp_path / "none.csv"}
    sampled = sample_large_files(files, folder, 300)
    assert sampled == {"TRAIN": (folder / "TRAIN" / "orders 2024.csv", 1_000)}
    assert len(_written(folder / "TRAIN" / "orders 2024.csv")) == 300
    assert [path.name for path in folder.iterdir()] == ["TRAIN"]
