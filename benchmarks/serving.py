"""Throughput and latency of the generated service's `/predict` against the bare ASGI app, both
driven by wrk with the same requests, one after the other, in one run."""

import json
import re
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from .project import PACKAGE, RECORD, start, stop, wait_for

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 0.8
CONNECTIONS = 16


def lua_script(records: int, folder: Path) -> Path:
    body = json.dumps({"records": [RECORD] * records})
    path = folder / f"post-{records}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    return path


def load(url: str, script: Path, seconds: int, connections: int = CONNECTIONS) -> dict[str, float]:
    """wrk's requests per second and latency percentiles (ms), and the requests sent in all."""
    warm_up = subprocess.run(
        ["wrk", "-t1", "-c4", "-d2s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    figures["requests"] = sum(
        int(re.search(r"(\d+) requests in", run).group(1)) for run in (warm_up, output)
    )
    for percentile in ("50", "99"):
        value, unit = re.search(
            rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M
        ).groups()
        figures[f"p{percentile}"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    return figures


def run(project: Path, seconds: int) -> None:
    apps = {
        "bare ASGI app": (
            ["uv", "run", "python", str(HERE / "bare_app.py"), "--port", "3702"],
            3702,
        ),
        "generated service": (["uv", "run", PACKAGE, "serve", "--port", "3703"], 3703),
    }
    results: dict[tuple[str, int], dict[str, float]] = {}
    logged = 0
    with tempfile.TemporaryDirectory() as folder:
        scripts = {records: lua_script(records, Path(folder)) for records in (1, 100)}
        # Each run logs to an empty prediction log, as a fresh deployment would.
        log = f"sqlite:///{folder}/predictions.db"
        for name, (command, port) in apps.items():
            process = start(command, project, APP_PREDICTION_LOG_URL=log)
            url = f"http://127.0.0.1:{port}/predict"
            try:
                wait_for(url, json.dumps({"records": [RECORD]}).encode())
                for records, script in scripts.items():
                    results[name, records] = load(url, script, seconds)
            finally:
                stop(process)  # the service writes what waits for the log before it exits
        with sqlite3.connect(f"{folder}/predictions.db") as database:
            logged = database.execute("SELECT count(*) FROM predictions").fetchone()[0]
    print(f"## Serving overhead (wrk, {CONNECTIONS} connections, {seconds} s per run)\n")
    print("| App | Records per request | Requests/s | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for (name, records), figures in results.items():
        rps, p50, p99 = figures["rps"], figures["p50"], figures["p99"]
        print(f"| {name} | {records} | {rps:.0f} | {p50:.1f} | {p99:.1f} |")
    print()
    for records in (1, 100):
        service, bare = results["generated service", records], results["bare ASGI app", records]
        ratio = service["rps"] / bare["rps"]
        verdict = "meets" if ratio >= TARGET_RATIO and service["p99"] <= bare["p99"] else "misses"
        print(
            f"- {records} record(s): service/bare throughput **{ratio:.2f}** "
            f"(target {TARGET_RATIO}), p99 {service['p99']:.1f} vs {bare['p99']:.1f} ms: {verdict}"
        )
    answered = 1 + sum(  # the first request of wait_for, then wrk's
        results["generated service", records]["requests"] * records for records in (1, 100)
    )
    verdict = "nothing dropped" if logged >= answered else "rows are missing"
    print(
        f"- Audit trail: {logged:,} rows in the prediction log, {answered:,} records answered as "
        f"wrk counts them (it leaves requests in flight uncounted): {verdict}"
    )
    print()
