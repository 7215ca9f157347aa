"""Bring your own data, second half of the corpus (the first is in test_own_data.py): a file of
its own, so that pytest-xdist runs it on the other worker."""

from collections.abc import Callable

import pytest

from conftest import Project
from corpus import SECOND_HALF, Table
from own_data import fresh, own_project, prefect_api, run_loop

__all__ = ["fresh", "own_project", "prefect_api"]  # fixtures of own_data.py, used by name


@pytest.mark.parametrize("table", SECOND_HALF, ids=[table.name for table in SECOND_HALF])
def test_a_real_table_goes_through_the_whole_loop(
    fresh: Project,
    table: Table,
    record_property: Callable[[str, object], None],
    prefect_api: str,
) -> None:
    run_loop(fresh, table, record_property, prefect_api)
