"""Wall time of the retraining flow on the sample data, and Prefect's own share of it: the same
flow body with its tasks called as plain functions.

Runs inside a generated project: `uv run python retraining.py`.
"""

import logging
import subprocess
import time

from customer_churn.training import flow as retraining

TASKS = (
    "load_data",
    "validate_data",
    "train_candidate",
    "register_candidate",
    "evaluate",
    "record_and_decide",
)


def main() -> None:
    started = time.perf_counter()
    subprocess.run(["make", "retrain"], check=True, capture_output=True)
    command = time.perf_counter() - started

    started = time.perf_counter()
    retraining.retrain()
    first = time.perf_counter() - started
    started = time.perf_counter()
    retraining.retrain()
    flow = time.perf_counter() - started

    for name in TASKS:
        setattr(retraining, name, getattr(retraining, name).fn)
    retraining.get_run_logger = lambda: logging.getLogger("retraining")  # type: ignore[assignment]
    started = time.perf_counter()
    retraining.retrain.fn()
    direct = time.perf_counter() - started

    print("## Retraining (sample data)\n")
    print("| Run | Seconds |\n| --- | ---: |")
    print(
        f"| `make retrain` (new process: imports, temporary Prefect server, flow) | {command:.1f} |"
    )
    print(f"| first flow run in a process (starts the temporary Prefect server) | {first:.1f} |")
    print(f"| next flow run in the same process (server up, imports done) | {flow:.1f} |")
    print(f"| same functions called directly, no Prefect | {direct:.1f} |")
    print(
        f"\nPrefect's own overhead per flow run: **{flow - direct:.2f} s** "
        f"({(flow - direct) / flow:.0%} of the warm run).\n"
    )


main()
