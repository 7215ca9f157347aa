"""Time from `copier copy --defaults` to the first 200 from `/predict`, on a warm uv cache."""

import json
import shutil
from pathlib import Path

from .project import PACKAGE, RECORD, render, start, stop, timed, wait_for

TARGET_SECONDS = 30
PORT = 3701


def run(scratch: Path) -> Path:
    """Warm the uv cache with a first project, then time a second one; returns the second."""
    warm = scratch / "warm-up"
    render(warm)
    timed("uv", "sync", "--all-groups", "--compile-bytecode", cwd=warm)
    shutil.rmtree(warm)

    project = scratch / "customer-churn"
    phases = {"render (copier copy)": render(project)}
    phases["environment (uv sync, as make setup)"] = timed(
        "uv", "sync", "--all-groups", "--compile-bytecode", cwd=project
    )
    phases["registry bootstrap (baseline = v1)"] = timed(
        "uv", "run", PACKAGE, "bootstrap", cwd=project
    )
    server = start(["uv", "run", PACKAGE, "serve", "--port", str(PORT)], project)
    try:
        body = json.dumps({"records": [RECORD]}).encode()
        phases["service start to first 200"] = wait_for(f"http://127.0.0.1:{PORT}/predict", body)
    finally:
        stop(server)
    total = sum(phases.values())
    print("## Time to first prediction (warm uv cache)\n")
    print("| Phase | Seconds |\n| --- | ---: |")
    for name, seconds in phases.items():
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **total** (target {TARGET_SECONDS} s) | **{total:.1f}** |\n")
    return project
