"""Peak memory of the batch commands (`validate`, `predict`) against the number of rows.

The figures issue 24 (bounded memory) starts from: each command runs in a process of its own on
a CSV and a Parquet file of the sample schema, and its peak resident memory (ru_maxrss) is read
when it exits. Runs inside a generated project: `uv run python batch_memory.py 100000 1000000`.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from customer_churn.config.settings import PACKAGE
from customer_churn.contract.data_contract import ProblemType
from customer_churn.data.sample import generate

PEAK_OF_CHILD = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True,"
    " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
    " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)
"""A wrapper whose only child is the command: the children's peak is the command's own."""


def peak_mib(*command: str) -> tuple[float, float]:
    """Peak resident memory (MiB) and seconds of ``command`` in a fresh process."""
    started = time.perf_counter()
    wrapped = [sys.executable, "-c", PEAK_OF_CHILD, *command]
    printed = subprocess.run(wrapped, check=True, capture_output=True, text=True).stdout
    return int(printed.split()[-1]) / 1024, time.perf_counter() - started


def main() -> None:
    sizes = [int(size) for size in sys.argv[1:]] or [100_000]
    cli = [sys.executable, "-m", PACKAGE]
    idle, _ = peak_mib(*cli, "--help")
    lines = []
    with tempfile.TemporaryDirectory(prefix="batch-memory-") as scratch:
        for rows in sizes:
            frame = generate(ProblemType.BINARY_CLASSIFICATION, rows, seed=4)
            for suffix in (".csv", ".parquet"):
                source = Path(scratch) / f"batch-{rows}{suffix}"
                frame.to_csv(source, index=False) if suffix == ".csv" else frame.to_parquet(source)
                size = source.stat().st_size / 2**20
                for command in (
                    ["validate", str(source)],
                    ["predict", str(source), "--output", str(Path(scratch) / f"out{suffix}")],
                ):
                    peak, seconds = peak_mib(*cli, *command)
                    lines.append(
                        f"| `{command[0]}` | {suffix[1:]} | {rows:,} | {size:,.0f} | {peak:,.0f} "
                        f"| {seconds:.1f} |"
                    )
            del frame
    print("## Peak memory of the batch commands (sample schema, 8 features)\n")
    print(f"A process of the command line that only prints its help peaks at {idle:,.0f} MiB.\n")
    print("| Command | Format | Rows | File (MiB) | Peak (MiB) | Seconds |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    print("\n".join(lines))
    print(
        "\nTarget (issue 24): the peak stays flat in the number of rows (chunks of a set size); "
        "today it grows with the file.\n"
    )


main()
