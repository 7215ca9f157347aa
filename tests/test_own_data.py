"""Bring your own data, first half of the corpus: each table through the whole loop
(`own_data.run_loop`); the second half is in test_own_data_second_half.py."""

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Project
from corpus import FIRST_HALF, TABLES, Table
from own_data import fresh, own_project, prefect_api, run_loop

__all__ = ["fresh", "own_project", "prefect_api"]  # fixtures of own_data.py, used by name


@pytest.mark.parametrize("table", FIRST_HALF, ids=[table.name for table in FIRST_HALF])
def test_a_real_table_goes_through_the_whole_loop(
    fresh: Project,
    table: Table,
    record_property: Callable[[str, object], None],
    prefect_api: str,
) -> None:
    run_loop(fresh, table, record_property, prefect_api)


def test_every_table_is_in_the_corpus_once() -> None:
    assert len({table.name for table in TABLES}) == len(TABLES) >= 5
    assert all(Path(table.file_name).suffix in (".csv", ".parquet") for table in TABLES)
