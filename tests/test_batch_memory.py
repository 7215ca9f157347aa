"""Batch commands on files far larger than the sample: memory stays flat in the file's length.

A file of its own, so that pytest-xdist runs it beside the variants' `make ci`
(test_generated_projects.py), not after them.
"""

import sys
from collections.abc import Callable
from pathlib import Path

from conftest import Project

PEAK_OF_CHILD = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True,"
    " stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)
"""Runs a command and prints the peak resident memory (KiB) of the largest process under it."""


def test_batch_scoring_of_millions_of_rows_stays_under_a_memory_ceiling(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    """`make predict` streams the file in chunks (APP_CHUNK_ROWS): scoring two million rows
    peaks no higher than a tenth of them does, give or take the chunk's worth, and far below
    the 2 GiB a whole-frame read of the file takes, while every row is scored."""
    project = make_project()
    peaks: dict[int, float] = {}
    for rows in (200_000, 2_000_000):
        source, output = tmp_path / f"batch-{rows}.csv", tmp_path / f"scored-{rows}.csv"
        project.run(
            "uv", "run", "python", "-c",
            "import sys; from customer_churn.data.sample import generate; "
            "from customer_churn.contract.data_contract import ProblemType; "
            f"generate(ProblemType.BINARY_CLASSIFICATION, {rows}, seed=4)"
            f".to_csv(sys.argv[1], index=False)", str(source),
        )  # fmt: skip
        command = ("make", "--no-print-directory", "predict", f"DATA={source}", f"OUTPUT={output}")
        peak = project.run(sys.executable, "-c", PEAK_OF_CHILD, *command)
        peaks[rows] = int(peak.stdout.split()[-1]) / 1024
        with output.open("rb") as scored:
            assert sum(1 for _ in scored) == rows + 1
        source.unlink()
        output.unlink()
    assert peaks[2_000_000] < peaks[200_000] + 160, peaks
    assert peaks[2_000_000] < 900, peaks
