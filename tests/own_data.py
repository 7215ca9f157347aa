"""Bring your own data: the whole loop for one real table of the corpus, and its fixtures.

render -> infer -> rebaseline -> validate the training file and a held-out split -> serve ->
predict with the team's own names -> retrain: the gate promotes a trained model over the
learned baseline, or says why not (then the team promotes it by hand, on record) ->
shifted traffic, sent as callers send it, answered and flagged -> monitor flags drift ->
rollback (and no rollback to another contract) -> the team names its owner and signs the model
card, and the readiness scorecard that said "not met" at the start says "met", each criterion
with its evidence; then, for one table per problem type, what of the project's `make ci` depends
on the table: the contract, the data's validation, every in-process test, the evaluation gate and
the process tests of ``DATA_PROCESS_TESTS``. The
tables are split between two test files (`test_own_data*.py`) so that two pytest-xdist
workers take them at once.
"""

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from conftest import Project, free_port
from corpus import Table, write
from processes import start, stop
from test_generated_projects import NO_POSTGRES
from test_workshop import wait_until_ready

PACKAGE = "own_data"


@pytest.fixture(scope="module")
def own_project(make_project: Callable[..., Project], request: pytest.FixtureRequest) -> Project:
    """A project of each test file's own: the files' tables change it at the same time."""
    half = request.module.__name__.removeprefix("test_own_data").strip("_") or "first half"
    return make_project(project_name=f"Own Data {half.replace('_', ' ')}", package_name=PACKAGE)


@pytest.fixture(scope="module")
def prefect_api(own_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect server (SQLite) for the module's retraining runs, as a team's PREFECT_API_URL:
    started once, where each `retrain` would start a temporary server of its own (about 13
    CPU-s each; the workshop's `make retrain` still does, as a team's first does)."""
    folder = tmp_path_factory.mktemp("prefect")
    port = free_port()
    env = {
        **own_project.env,
        "PREFECT_HOME": str(folder),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'prefect.db'}",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    command = ["uv", "run", "prefect", "server", "start", "--host", "127.0.0.1"]
    log = folder / "prefect.log"
    server = start([*command, "--port", str(port)], log, cwd=own_project.path, env=env)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while not answers(f"{url}/health"):
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"no Prefect server in 120 s: {log.read_text()}"
            time.sleep(0.5)
        yield url
    finally:
        stop(server)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def fresh(own_project: Project, tmp_path: Path) -> Iterator[Project]:
    """The project as `make setup` left it: the sample's contract and its baseline as champion."""
    project = own_project
    kept = ("contract", "config", "docs", ".github")
    for folder in kept:
        shutil.copytree(project.path / folder, tmp_path / folder)
    yield project
    for folder in kept:
        shutil.rmtree(project.path / folder)
        shutil.copytree(tmp_path / folder, project.path / folder)
    for leftover in (".local", "reports", "data/own"):
        shutil.rmtree(project.path / leftover, ignore_errors=True)
    (project.path / ".env").unlink(missing_ok=True)
    project.run("uv", "run", PACKAGE, "bootstrap")


def run_loop(
    project: Project,
    table: Table,
    record_property: Callable[[str, object], None],
    prefect_api: str,
) -> None:
    """The whole loop for ``table`` in ``project`` (as `fresh` leaves it), its flows run on the
    Prefect server at ``prefect_api``; timings recorded."""
    timings: dict[str, float] = {}

    def step(name: str, *command: str, env: dict[str, str] | None = None) -> str:
        started = time.monotonic()
        result = project.run(*command, env=env)
        timings[name] = round(time.monotonic() - started, 1)
        return result.stdout + result.stderr

    learn, held_out = table.split()
    folder = project.path / "data" / "own"
    folder.mkdir(parents=True)
    train_file = folder / table.file_name
    holdout_file = folder / f"held-out {table.file_name}"
    write(learn, str(train_file))
    write(held_out, str(holdout_file))
    cli = ("uv", "run", PACKAGE)
    before = readiness(project)
    for name in ("edge_cases", "monitoring", "feedback", "rollback", "ownership", "governance"):
        assert before[name]["status"] == "not met", before[name]
    assert before["real_data"]["evidence"].endswith("still describes the shipped sample")
    assert before["serving"]["status"] == "unknown"  # no Prometheus here
    inferred = step(
        "infer",
        *cli,
        "contract",
        "infer",
        str(train_file.relative_to(project.path)),
        "--target",
        table.target,
        "--holdout",
        str(holdout_file.relative_to(project.path)),
        "--force",
    )
    assert "Traceback" not in inferred
    contract = (project.path / "contract" / "data_contract.yaml").read_text(encoding="utf-8")
    assert "limits: observed" in contract
    step("rebaseline", *cli, "rebaseline")
    validated = step("validate", *cli, "validate")  # the training file and the held-out split
    assert validated.count(": passed") == 2, validated
    held_out_passed = re.search(r"^.*held-out.*: passed, \d+ rows.*$", validated, re.M)
    assert held_out_passed, validated
    record_property(f"held-out validation: {table.name}", held_out_passed.group(0))
    if not table.ci:  # drift's false alarms on windows drawn from this table, and its
        # distances against Evidently's (for the ci tables, `make test` below runs them)
        step("drift's false alarms", "uv", "run", "pytest", "-n0", "-q", "tests/test_drift.py")

    port = free_port()
    log = project.path / "reports" / "serve.log"
    log.parent.mkdir(exist_ok=True)
    env = {**project.env, "APP_MODEL_REFRESH_SECONDS": "2"}  # a new champion serves within 2 s
    server = start([*cli, "serve", "--port", str(port)], log, cwd=project.path, env=env)
    try:
        started = time.monotonic()
        wait_until_ready(port, server)
        timings["serve"] = round(time.monotonic() - started, 1)
        features = [feature["name"] for feature in yaml.safe_load(contract)["features"]]
        records = json.loads(
            held_out[features].head(20).to_json(orient="records", date_format="iso")
        )
        answer = post(port, {"records": records})
        assert len(answer["results"]) == len(records)
        assert answer["model_version"] == "2"  # the new contract's baseline
        label(port, answer["results"], held_out[table.target].head(20))

        retrained = step(
            "retrain", *cli, "retrain", env={**project.env, "PREFECT_API_URL": prefect_api}
        )
        decided = re.search(
            r"Candidate version (\d+) (promoted to champion|refused): \S+ gain [+-][\d.]+ "
            r"\[[+-][\d.]+, [+-][\d.]+\] at 95% over \d+ held-out rows",
            retrained,
        )
        assert decided, retrained  # the gate's decision, with its interval
        record_property(f"gate: {table.name}", decided.group(0))
        candidate = decided.group(1)
        if decided.group(2) == "refused":  # learned rules can be as good: the team may still
            why = r"cannot tell at 95%|not better by the margin|too small to decide"
            assert re.search(why, retrained), retrained
            promoted = step("promote by hand", *cli, "promote", candidate)  # ...choose it
            assert f"champion is version {candidate}" in promoted, promoted
        # monitoring judges the champion's answers alone: traffic once it serves
        wait_for_version(port, candidate)
        started = time.monotonic()
        flagged = send_shifted(port, held_out, yaml.safe_load(contract)["features"], table.target)
        timings["shifted traffic"] = round(time.monotonic() - started, 1)
        assert flagged > 0, "values beyond the observed limits are answered and flagged"
        monitored = project.run(*cli, "monitor", check=False)
        said = monitored.stdout + monitored.stderr
        assert "ALERT" in said, said
        drifted = re.findall(r"^ {4}(.+?) +DRIFT ", said, re.M)
        assert drifted, f"the shift is caught as drift, not only beyond the limits:\n{said}"
        record_property(f"drift on shifted traffic: {table.name}", ", ".join(drifted))
    finally:
        stop(server)
    rolled_back = step("rollback", *cli, "rollback")
    assert "to version 2" in rolled_back
    refused = project.run(*cli, "rollback", check=False)
    assert refused.returncode == 1
    assert "registered for another contract" in refused.stderr
    assert "Traceback" not in refused.stderr
    take_ownership(project)
    after = readiness(project)
    for name, criterion in after.items():
        assert criterion["status"] == ("unknown" if name == "serving" else "met"), criterion
    assert "from version 3 to 2" in after["rollback"]["evidence"]
    assert after["real_data"]["evidence"].endswith(str(train_file.relative_to(project.path)))
    if table.ci:  # the team's first pull request: what of the generated CI the table decides
        started = time.monotonic()
        env = {name: value for name, value in project.env.items() if name != "CI"}
        env = {**env, "TEST_POSTGRES_URL": NO_POSTGRES}
        # the whole in-process tier in one command: beside the rest of the suite, not quick
        project.run("make", "contract", "validate-data", "test", "gate", env=env, timeout=3600)
        project.run("uv", "run", "pytest", "-m", "processes", *DATA_PROCESS_TESTS, env=env)
        timings["contract's tests"] = round(time.monotonic() - started, 1)
    record_property(f"own data: {table.name}", list(timings.items()))


DATA_PROCESS_TESTS = (
    "tests/test_monitoring.py::"
    "test_right_after_a_promotion_only_the_new_champion_is_judged_and_no_prediction_drifts",
    "tests/test_retraining.py::test_rollback_brings_back_the_previous_champion_in_the_running_service",
)
"""The generated tests with real service processes that judge the team's data: drift right
after a promotion, rollback in a running service of two workers. (Shadow, canary and the
baseline's rules explaining answers build the service in process: `make test` runs them.) The
other process tests (start-up, signals, a tracking server, the flow deployed on a Prefect server,
the production profile) and lint do not depend on the table: the variants' `make ci` runs them.
A test renamed in the template fails here by name (pytest: "not found")."""


def readiness(project: Project) -> dict[str, dict[str, str]]:
    """The scorecard's criteria by name, as `make readiness` writes them."""
    project.run("make", "readiness")
    written = json.loads((project.path / "reports/readiness/readiness.json").read_text())
    return {criterion["name"]: criterion for criterion in written["criteria"]}


def take_ownership(project: Project) -> None:
    """What a team does before going live: names itself where the template put placeholders,
    and risk and compliance sign the model card."""
    for name in (".github/CODEOWNERS", "docs/runbook.md"):
        path = project.path / name
        text = path.read_text().replace("@ml-platform", "@acme/churn-team")
        path.write_text(text.replace("ml-platform@example.com", "churn-oncall@acme.io"))
    card = project.path / "docs" / "model-card.md"
    text = card.read_text()
    text = text.replace("| Risk | _pending_ | _pending_ |", "| Risk | Ada Lovelace | 2026-01-05 |")
    card.write_text(
        text.replace(
            "| Compliance | _pending_ | _pending_ |", "| Compliance | Grace Hopper | 2026-01-06 |"
        )
    )


def label(port: int, results: Any, outcomes: pd.Series) -> None:
    """Send each answered prediction's true outcome to /feedback, as the team's system does:
    only those it knows (a table may have rows without a target)."""
    values = json.loads(outcomes.to_json(orient="records"))
    for result, outcome in zip(results, values, strict=True):
        if outcome is not None:
            body = {"prediction_id": result["prediction_id"], "outcome": outcome}
            post(port, body, "/feedback")


SHIFTED_RECORDS = 320


def send_shifted(
    port: int, held_out: pd.DataFrame, features: list[dict[str, Any]], target: str
) -> int:
    """The held-out rows with every number scaled by 1.5, sent as callers send them (not
    clipped to the contract), 8 records a request, and their outcomes: each is answered;
    returns how many flagged."""
    numbers = [f["name"] for f in features if f["type"] in ("integer", "number")]
    rows = held_out[[f["name"] for f in features]]
    shifted = rows.assign(**{name: rows[name] * 1.5 for name in numbers})
    copies = SHIFTED_RECORDS // len(shifted) + 1
    repeated = pd.concat([shifted] * copies).head(SHIFTED_RECORDS)
    outcomes = pd.concat([held_out[target]] * copies).head(SHIFTED_RECORDS)
    records = json.loads(repeated.to_json(orient="records", date_format="iso"))
    flagged = 0
    for first in range(0, len(records), 8):
        answer = post(port, {"records": records[first : first + 8]})
        results = answer["results"]
        assert isinstance(results, list)
        label(port, results, outcomes.iloc[first : first + 8])
        flagged += sum(bool(result["out_of_range"]) for result in results)
    return flagged


def wait_for_version(port: int, version: str, seconds: float = 60) -> None:
    """Wait until the service answers with model ``version``."""
    deadline = time.monotonic() + seconds
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=30) as response:
            serving = str(json.load(response)["version"])
        if serving == version:
            return
        assert time.monotonic() < deadline, f"still serving version {serving}, not {version}"
        time.sleep(0.5)


def post(port: int, body: dict[str, object], path: str = "/predict") -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
    return answer
