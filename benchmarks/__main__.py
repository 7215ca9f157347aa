"""Run every benchmark on one freshly generated project and print the figures."""

import argparse
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from . import first_prediction, footprint, in_project, rollout, serving


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if "MemTotal" in line
    )
    gib = int(memory) // 1024 // 1024
    return f"{cpu}, {cores} cores, {gib} GiB, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="duration of each load test")
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="sizes for validation and drift",
    )
    args = parser.parse_args()
    print(f"# Benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Machine: {machine()}\n")
    with tempfile.TemporaryDirectory(prefix="benchmarks-") as scratch:
        project = first_prediction.run(Path(scratch))
        serving.run(project, args.seconds)
        in_project.run(project, "validation_drift", *map(str, args.rows))
        in_project.run(project, "batch_memory", *map(str, args.rows))
        in_project.run(project, "retraining")
        in_project.run(project, "contract_infer", "1000000", "50")
        in_project.run(project, "edge_checks")
        in_project.run(project, "authentication")
        rollout.run(project, args.seconds)
        footprint.run(project)


main()
