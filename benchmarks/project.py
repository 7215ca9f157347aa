"""Rendering a project and running its commands, for the benchmarks."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "customer_churn"
RECORD = {
    "tenure_months": 3,
    "monthly_charges": 80.5,
    "support_calls_90d": 5,
    "days_since_last_login": 12,
    "contract_type": "month_to_month",
    "payment_method": "card",
    "region": "north",
    "has_discount": False,
}
ENV = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def timed(*command: str, cwd: Path) -> float:
    """Run ``command``; its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def render(destination: Path) -> float:
    """`copier copy --defaults` of the working tree; seconds taken."""
    command = [sys.executable, "-m", "copier", "copy", "--defaults", "--vcs-ref=HEAD", "--quiet"]
    return timed(*command, str(TEMPLATE), str(destination), cwd=TEMPLATE)


def start(command: list[str], cwd: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=cwd,
        env={**ENV, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(url: str, body: bytes | None = None, seconds: float = 180) -> float:
    """Poll ``url`` (POST ``body`` when given) until it answers 200; seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        request = urllib.request.Request(
            url, data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, 15)
    process.wait(timeout=30)
