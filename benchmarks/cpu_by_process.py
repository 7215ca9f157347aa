"""Where a command spends its CPU: every process under it, grouped by what it runs.

`--durations` shows only the time of the tests themselves; the servers and subprocesses they
start run beside them. This runs a command, samples every descendant process (psutil, every
``--every`` seconds) and prints the CPU-seconds and process count of each group, largest first:

    uv run python -m benchmarks.cpu_by_process -- uv run pytest -x tests/test_retraining.py

A process that lives shorter than one sample is missed; its parent's children's time
(``cpu_times().children_*``) is not added, so that nothing counts twice.
"""

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict

import psutil

Seen = dict[tuple[int, float], tuple[str, str, float]]
"""By (pid, start time): the group, the working folder and the CPU-seconds so far."""

GROUPS: list[tuple[str, str]] = [
    ("pytest-xdist workers", r"execnet|xdist|-c import sys;exec\(eval\(sys\.stdin"),
    ("mlflow server (gunicorn/uvicorn workers included)", r"mlflow\b.*server|mlflow\.server|huey"),
    ("prefect server", r"prefect\b.*server|prefect\.server"),
    ("prefect flow runs and workers", r"prefect\b.*(worker|flow-run|engine)"),
    ("BentoML service workers", r"_bentoml_impl\.worker|bentoml.*worker"),
    ("serve (BentoML arbiter)", r"\bserve\b"),
    ("retrain", r"\bretrain\b"),
    ("monitor", r"\bmonitor\b"),
    (
        "other commands of a project's CLI",
        r"(^|\s)\w+ (validate|contract|rebaseline|bootstrap|readiness|promote|rollback|predict"
        r"|history|compare|token)\b",
    ),
    ("uv sync / uv pip", r"\buv\b.*\b(sync|pip|lock)\b"),
    ("copier", r"copier"),
    ("make", r"^make\b|/make\b"),
    ("ruff / mypy / linters", r"ruff|mypy|hadolint|zizmor|promtool|check-jsonschema"),
    ("chromium", r"chrom"),
    ("bytecode compilation (uv sync --compile-bytecode)", r"pip_compileall"),
    ("pytest (controllers)", r"\bpytest\b"),
]


def group_of(arguments: list[str]) -> str:
    """The group of a command line, judged on the names of its programs and files (a path's
    folders, such as pytest's temporary ones, say nothing of what runs)."""
    command_line = " ".join(argument.rsplit("/", 1)[-1] for argument in arguments)
    for name, pattern in GROUPS:
        if re.search(pattern, command_line):
            return name
    return f"other: {command_line[:60]}"


def folder_of(process: psutil.Process, depth: int) -> str:
    try:
        return "/".join(process.cwd().split("/")[: depth + 1]) or "/"
    except psutil.Error:
        return "?"


def sample(root: psutil.Process, seen: Seen, depth: int) -> None:
    """Record the CPU time so far of ``root`` and every descendant (by pid and start time)."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for process in processes:
        try:
            with process.oneshot():
                key = (process.pid, process.create_time())
                times = process.cpu_times()
                arguments = process.cmdline() or [process.name()]
                folder = folder_of(process, depth)
        except psutil.Error:
            continue
        seen[key] = (group_of(arguments), folder, times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=0.3, help="seconds between samples")
    parser.add_argument(
        "--depth", type=int, default=5, help="path parts of the working folder to group by"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to measure after --")
    started = time.monotonic()
    try:
        child = subprocess.Popen(command)
    except OSError as error:
        parser.error(f"cannot start {command[0]}: {error.strerror}; check the command after --")
    root = psutil.Process(child.pid)
    seen: Seen = {}
    while child.poll() is None:
        sample(root, seen, args.depth)
        time.sleep(args.every)
    wall = time.monotonic() - started
    print(f"\n# CPU by process: {' '.join(command)}", file=sys.stderr)
    cpu = sum(seconds for *_, seconds in seen.values())
    print(f"wall {wall:.0f} s, CPU {cpu:.0f} s, exit {child.returncode}", file=sys.stderr)
    for title, index in (("What runs", 0), ("Working folder", 1)):
        totals: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for entry in seen.values():
            totals[entry[index]] += entry[2]
            counts[entry[index]] += 1
        print(f"\n| {title} | CPU-s | Processes |\n| --- | ---: | ---: |", file=sys.stderr)
        for group, seconds in sorted(totals.items(), key=lambda item: -item[1]):
            if seconds >= 1:
                print(f"| {group} | {seconds:.0f} | {counts[group]} |", file=sys.stderr)
    sys.exit(child.returncode)


if __name__ == "__main__":
    main()
