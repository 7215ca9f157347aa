"""What shadow mode and explanations add to a request: the generated service (a trained champion)
with the challenger scored off the response path, and with each answer explained, against the
same service with neither, driven by wrk with one-record requests: one connection at a time for
the latency a caller sees, then 16 for the throughput left.

Needs a trained champion and a `challenger` alias: the retraining benchmark leaves both.
"""

import json
import tempfile
from pathlib import Path

from .project import PACKAGE, RECORD, start, stop, wait_for
from .serving import load, lua_script


def run(project: Path, seconds: int) -> None:
    modes = {
        "plain": {},
        "shadow on (every request)": {"APP_SHADOW_ENABLED": "true"},
        "explanations on": {"APP_EXPLAIN_PREDICTIONS": "true"},
    }
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        script = lua_script(1, Path(folder))
        for number, (mode, env) in enumerate(modes.items()):
            log = f"sqlite:///{folder}/predictions-{number}.db"
            port = 3710 + number
            process = start(
                ["uv", "run", PACKAGE, "serve", "--port", str(port)],
                project,
                APP_PREDICTION_LOG_URL=log,
                **env,
            )
            url = f"http://127.0.0.1:{port}/predict"
            try:
                wait_for(url, json.dumps({"records": [RECORD]}).encode())
                results[mode] = load(url, script, seconds, connections=1)
                results[mode]["saturated rps"] = load(url, script, seconds)["rps"]
            finally:
                stop(process)
    print(f"## Shadow mode and explanations (wrk, one record per request, {seconds} s each)\n")
    print("| Mode | p50 ms (1 connection) | p99 ms | Requests/s (16 connections) |")
    print("| --- | ---: | ---: | ---: |")
    for mode, figures in results.items():
        p50, p99, rps = figures["p50"], figures["p99"], figures["saturated rps"]
        print(f"| {mode} | {p50:.1f} | {p99:.1f} | {rps:.0f} |")
    plain = results["plain"]
    for mode in ("shadow on (every request)", "explanations on"):
        on = results[mode]
        print(
            f"- {mode}: **{on['p50'] - plain['p50']:+.1f} ms at p50**, "
            f"**{on['p99'] - plain['p99']:+.1f} ms at p99**; saturated throughput "
            f"{on['saturated rps'] / plain['saturated rps']:.2f}x"
        )
    print(
        "\nShadow scoring runs on its own thread, so what it costs a request is the CPU it takes "
        "from the others.\n"
    )
