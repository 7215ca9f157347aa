"""Each rendered project passes its own checks and serves on day one, as its README says."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from conftest import Project

MATRIX = [
    {"problem_type": "binary_classification", "ci_provider": "github", "python_version": "3.11"},
    {
        "problem_type": "multiclass_classification",
        "ci_provider": "gitlab",
        "python_version": "3.12",
        "package_name": "next_plan",
    },
    {"problem_type": "regression", "ci_provider": "none", "python_version": "3.13"},
]

MakeProject = Callable[..., Project]


def label(answers: dict[str, str]) -> str:
    return f"{answers['problem_type']}-py{answers['python_version']}"


@pytest.fixture(scope="session")
def ci_runs(make_project: MakeProject) -> dict[str, subprocess.CompletedProcess[str]]:
    """`make setup`, then `make ci`, in every variant at once: most of a run is waiting on
    servers and subprocesses, so the variants overlap well even on two cores."""
    with ThreadPoolExecutor(len(MATRIX)) as pool:
        projects = list(pool.map(lambda answers: make_project(**answers), MATRIX))
        results = list(pool.map(lambda project: project.run("make", "ci", check=False), projects))
    return {label(answers): result for answers, result in zip(MATRIX, results, strict=True)}


@pytest.mark.parametrize("answers", MATRIX, ids=label)
def test_generated_project_passes_its_own_ci(
    make_project: MakeProject,
    ci_runs: dict[str, subprocess.CompletedProcess[str]],
    answers: dict[str, str],
) -> None:
    project = make_project(**answers)
    assert (project.path / "uv.lock").is_file(), "make setup must write uv.lock"
    python = project.run("uv", "run", "python", "-c", "import sys; print(sys.version)").stdout
    assert python.startswith(answers["python_version"])
    result = ci_runs[label(answers)]
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
    assert " passed" in result.stdout
    assert " failed" not in result.stdout


@contextmanager
def make_serve(project: Project, port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`make serve PORT=port` in the project (``env`` added), stopped with its children on exit."""
    server = subprocess.Popen(
        ["make", "serve", f"PORT={port}"],
        cwd=project.path,
        env={**project.env, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("answers", MATRIX, ids=label)
def test_readme_curl_gets_a_prediction_from_the_baseline(
    make_project: MakeProject, answers: dict[str, str]
) -> None:
    """Day one: `make setup`, `make serve`, then the README's curl answers with version 1."""
    project = make_project(**answers)
    readme = (project.path / "README.md").read_text()
    curl = next(
        line for line in readme.splitlines() if line.startswith("curl") and "/predict" in line
    )
    port = free_port()
    started = time.monotonic()
    with make_serve(project, port) as server:
        command = curl.replace("127.0.0.1:3000", f"127.0.0.1:{port}")
        answer = None
        while time.monotonic() - started < 120 and server.poll() is None:
            result = subprocess.run(
                command, shell=True, capture_output=True, text=True, check=False
            )
            if result.returncode == 0 and result.stdout:
                answer = json.loads(result.stdout)
                break
            time.sleep(0.25)
        assert answer is not None, "the service did not answer within 120 s"
        print(f"{label(answers)}: first prediction {time.monotonic() - started:.1f} s after start")
        assert answer["model_version"] == "1"
        assert answer["degraded"] is False
        assert answer["results"][0]["explanation"] != ""
        assert re.fullmatch(r"[0-9a-f]{32}", answer["request_id"])


def test_pre_commit_refuses_leftover_conflict_markers(make_project: MakeProject) -> None:
    project = make_project()
    readme = project.path / "README.md"
    original = readme.read_text()
    readme.write_text(original + "<<<<<<< before\nours\n=======\ntheirs\n>>>>>>> after\n")
    hook = ("uv", "run", "pre-commit", "run", "conflict-markers", "--files", "README.md")
    result = project.run(*hook, check=False)
    assert result.returncode != 0
    assert "README.md" in result.stdout
    readme.write_text(original)
    project.run(*hook)


def _answering_version(port: int) -> str:
    record = {
        "tenure_months": 3,
        "monthly_charges": 80.5,
        "support_calls_90d": 5,
        "days_since_last_login": 12,
        "contract_type": "month_to_month",
        "payment_method": "card",
        "region": "north",
        "has_discount": False,
    }
    body = json.dumps({"records": [record]}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["model_version"])


def _wait_for_version(port: int, version: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if _answering_version(port) == version:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"version {version} did not answer in {seconds:.0f} s"
        time.sleep(0.5)


def test_drift_retraining_and_rollback_with_the_make_targets(make_project: MakeProject) -> None:
    """Serve, send shifted traffic, `make monitor` flags it, `make retrain` promotes a trained
    model that the running service picks up, `make rollback` brings back version 1."""
    project = make_project()
    port = free_port()
    with make_serve(project, port, APP_MODEL_REFRESH_SECONDS="1"):
        _wait_for_version(port, "1", seconds=120)
        project.run("make", "simulate-traffic", f"PORT={port}", "DRIFT=1", "ROWS=300")
        monitored = project.run("make", "monitor", check=False)
        assert monitored.returncode != 0
        assert "ALERT" in monitored.stderr
        report = project.path / "reports" / "monitoring" / "drift.html"
        assert report.stat().st_size > 100_000  # Evidently's self-contained report
        summary = json.loads((report.parent / "drift.json").read_text())
        assert summary["status"] == "drift"

        retrained = project.run("make", "retrain")
        assert "promoted to champion" in retrained.stdout
        version = re.search(r"Champion now: version (\d+)", retrained.stdout)
        assert version is not None
        _wait_for_version(port, version.group(1), seconds=30)

        rolled_back = project.run("make", "rollback")
        assert "to version 1" in rolled_back.stdout
        _wait_for_version(port, "1", seconds=30)


def test_make_validate_stops_on_the_edge_cases_with_a_summary(make_project: MakeProject) -> None:
    project = make_project()
    passed = project.run("make", "validate", "DATA=data/sample/train.csv")
    assert "passed" in passed.stdout
    failed = project.run("make", "validate", "DATA=data/sample/edge_cases.csv", check=False)
    assert failed.returncode != 0
    assert "tenure_months is outside [0, 120]: 2 of 10 rows (20.0%)" in failed.stderr
    assert (project.path / "reports" / "validation" / "edge_cases.html").is_file()


def test_the_serving_environment_holds_only_the_serving_dependencies(
    make_project: MakeProject,
) -> None:
    """What the Dockerfile installs (`--no-default-groups`) imports the service and its CLI,
    without the training, validation and monitoring stack."""
    project = make_project()
    serving = project.path / ".local" / "serving-venv"
    env = {**project.env, "UV_PROJECT_ENVIRONMENT": str(serving)}
    sync = ("uv", "sync", "--frozen", "--no-default-groups", "--compile-bytecode")
    subprocess.run(sync, cwd=project.path, env=env, check=True, capture_output=True)
    check = (
        "import importlib.util, customer_churn.service, customer_churn.cli; "
        "print([m for m in ('great_expectations', 'evidently', 'prefect', 'pytest') "
        "if importlib.util.find_spec(m)])"
    )
    result = subprocess.run(
        [str(serving / "bin" / "python"), "-c", check],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def test_make_bento_builds_the_deployable_archive(make_project: MakeProject) -> None:
    project = make_project()
    project.run("make", "bento")
    bento = project.path / "dist" / "customer-churn.bento"
    assert bento.stat().st_size > 10_000


def test_make_deploy_runs_the_teams_command_or_says_what_is_missing(
    make_project: MakeProject,
) -> None:
    project = make_project()
    missing = project.run("make", "deploy", "ENV=staging", "IMAGE=registry/app:1", check=False)
    assert missing.returncode != 0
    assert "DEPLOY_COMMAND is not set" in missing.stderr
    command = 'echo "deploying $IMAGE to $ENVIRONMENT"'
    deployed = subprocess.run(
        ["make", "deploy", "ENV=staging", "IMAGE=registry/app:1"],
        cwd=project.path,
        env={**project.env, "DEPLOY_COMMAND": command},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deploying registry/app:1 to staging" in deployed.stdout
