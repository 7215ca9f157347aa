"""Time from `copier copy --defaults` to the first 200 from `/predict`, on a warm uv cache.

Two paths: the README's day one (`make serve` straight after the copy: the serving set alone,
`--no-default-groups`, what the image installs), and the whole development environment first
(`make setup`). Each phase runs the command its `make` target runs.
"""

import json
import shutil
from pathlib import Path

from .project import PACKAGE, RECORD, render, start, stop, timed, wait_for

TARGET_SECONDS = 30
PORT = 3701
PATHS = {  # name: (`uv sync` groups, `uv run` groups)
    "day one (make serve)": (("--no-default-groups",), ("--no-default-groups",)),
    "make setup, then make serve": (("--all-groups",), ()),
}


def first_prediction(
    project: Path, sync_groups: tuple[str, ...], run_groups: tuple[str, ...]
) -> dict[str, float]:
    """Seconds of each phase, from rendering ``project`` to its first answer."""
    phases = {"render (copier copy)": render(project)}
    phases["environment (uv sync)"] = timed(
        "uv", "sync", *sync_groups, "--compile-bytecode", cwd=project
    )
    run = ("uv", "run", *run_groups)
    phases["registry bootstrap (baseline = v1)"] = timed(*run, PACKAGE, "bootstrap", cwd=project)
    server = start([*run, PACKAGE, "serve", "--port", str(PORT)], project)
    try:
        body = json.dumps({"records": [RECORD]}).encode()
        phases["service start to first 200"] = wait_for(f"http://127.0.0.1:{PORT}/predict", body)
    finally:
        stop(server)
    return phases


def run(scratch: Path) -> Path:
    """Warm the uv cache with a first project, then time each path; returns the one with the
    whole environment."""
    warm = scratch / "warm-up"
    render(warm)
    timed("uv", "sync", "--all-groups", "--compile-bytecode", cwd=warm)
    shutil.rmtree(warm)

    projects = {name: scratch / f"customer-churn-{index}" for index, name in enumerate(PATHS)}
    results = {name: first_prediction(projects[name], *PATHS[name]) for name in PATHS}
    names = list(results)
    print("## Time to first prediction (warm uv cache)\n")
    print(f"| Phase | {' | '.join(names)} |\n| --- |{' ---: |' * len(names)}")
    for phase in results[names[0]]:
        print(f"| {phase} | {' | '.join(f'{results[n][phase]:.1f}' for n in names)} |")
    totals = " | ".join(f"**{sum(results[n].values()):.1f}**" for n in names)
    print(f"| **total** (target {TARGET_SECONDS} s) | {totals} |\n")
    *others, whole = projects.values()
    for project in others:
        shutil.rmtree(project)
    return whole
