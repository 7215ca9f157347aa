"""`contract infer` on a wide Parquet file: wall time and peak memory of the command.

Runs inside a generated project: `uv run python contract_infer.py 1000000 50`. The file mixes
what real tables hold: numbers with gaps, whole numbers, categories, booleans, a date-time and a
unique text id; the target is a string label. The command runs as a team runs it (a process of
its own, `--output` to a scratch folder), and its peak resident memory is read from the kernel.
"""

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def table(rows: int, columns: int) -> pd.DataFrame:
    generator = np.random.default_rng(0)
    data: dict[str, object] = {"record id": [f"R{i:09d}" for i in range(rows)]}
    for index in range(columns - 3):
        kind = index % 4
        name = f"feature {index} ({['amount', 'count', 'group', 'flag'][kind]})"
        if kind == 0:
            values = generator.normal(100, 15, rows)
            values[generator.random(rows) < 0.02] = np.nan
            data[name] = values
        elif kind == 1:
            data[name] = generator.poisson(3, rows)
        elif kind == 2:
            data[name] = generator.choice(["north", "south", "east", "west", "centre"], rows)
        else:
            data[name] = generator.choice(["yes", "no"], rows)
    data["signed up"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(
        generator.integers(0, 1500, rows), unit="D"
    )
    data["churned?"] = generator.choice(["left", "stayed"], rows, p=[0.2, 0.8])
    return pd.DataFrame(data)


def main() -> None:
    rows, columns = int(sys.argv[1]), int(sys.argv[2])
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "wide table.parquet"
        table(rows, columns).to_parquet(path, index=False)
        output = f"{scratch}/contract/data_contract.yaml"
        command = [sys.executable, "-m", _package(), "contract", "infer", str(path)]
        command += ["--target", "churned?", "--output", output]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = path.stat().st_size / 1e6
    print(
        f"contract infer, {rows:,} rows x {columns} columns ({size_mb:.0f} MB Parquet): "
        f"{seconds:.1f} s, peak memory {peak_mb:,.0f} MB"
    )


def _package() -> str:
    import tomllib

    return str(tomllib.loads(Path("pyproject.toml").read_text())["project"]["name"]).replace(
        "-", "_"
    )


main()
