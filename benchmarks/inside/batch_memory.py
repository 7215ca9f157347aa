"""Peak memory and speed of the batch commands (`validate`, `predict`) by engine and row count.

Each command runs in a process of its own on a CSV and a Parquet file of the sample schema, once
per engine (`--engine pandas` reads the whole file; `streamed`, the default, reads chunks of
APP_CHUNK_ROWS), and its peak resident memory (ru_maxrss) is read when it exits. Runs inside a
generated project: `uv run python batch_memory.py 1000000 10000000`.
"""

import itertools
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
ENGINES = ("pandas", "streamed")


def peak_mib(*command: str) -> tuple[float, float]:
    """Peak resident memory (MiB) and seconds of ``command`` in a fresh process (a peak of -1
    when the command failed, as when the machine ran out of memory)."""
    started = time.perf_counter()
    wrapped = [sys.executable, "-c", PEAK_OF_CHILD, *command]
    ran = subprocess.run(wrapped, check=False, capture_output=True, text=True)
    peak = int(ran.stdout.split()[-1]) / 1024 if ran.returncode == 0 else -1.0
    return peak, time.perf_counter() - started


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
                for command, engine in itertools.product(
                    (
                        ["validate", str(source)],
                        ["predict", str(source), "--output", str(Path(scratch) / f"out{suffix}")],
                    ),
                    ENGINES,
                ):
                    peak, seconds = peak_mib(*cli, *command, "--engine", engine)
                    figures = (
                        f"{peak:,.0f} | {seconds:.1f} | {rows / seconds:,.0f}"
                        if peak >= 0
                        else "failed (out of memory?) | | "
                    )
                    lines.append(
                        f"| `{command[0]}` | {engine} | {suffix[1:]} | {rows:,} | {size:,.0f} "
                        f"| {figures} |"
                    )
            del frame
    print("## Peak memory of the batch commands (sample schema, 8 features)\n")
    print(f"A process of the command line that only prints its help peaks at {idle:,.0f} MiB.\n")
    print("| Command | Engine | Format | Rows | File (MiB) | Peak (MiB) | Seconds | Rows/s |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(lines))
    print(
        "\nTarget (issue 24): the streamed engine's peak stays flat in the number of rows; the "
        "pandas engine's grows with the file until it runs out of memory.\n"
    )


main()
