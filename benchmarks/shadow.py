"""What shadow mode adds to a request: the generated service with the challenger scored off the
response path against the same service without it, driven by wrk with one-record requests.

Needs a `challenger` alias in the project's registry: the retraining benchmark leaves one.
"""

import json
import tempfile
from pathlib import Path

from .project import PACKAGE, RECORD, start, stop, wait_for
from .serving import load, lua_script


def run(project: Path, seconds: int) -> None:
    modes = {"shadow off": {}, "shadow on (every request)": {"APP_SHADOW_ENABLED": "true"}}
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
                results[mode] = load(url, script, seconds)
            finally:
                stop(process)
    print(f"## Shadow mode (wrk, one record per request, {seconds} s per run)\n")
    print("| Mode | Requests/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |")
    for mode, figures in results.items():
        print(f"| {mode} | {figures['rps']:.0f} | {figures['p50']:.1f} | {figures['p99']:.1f} |")
    off, on = results["shadow off"], results["shadow on (every request)"]
    print(
        f"\nShadow mode adds **{on['p50'] - off['p50']:+.1f} ms at p50** and "
        f"**{on['p99'] - off['p99']:+.1f} ms at p99** (throughput {on['rps'] / off['rps']:.2f}x): "
        "the challenger runs on its own thread, so the cost is the CPU it takes from requests.\n"
    )
