"""Each rendered project passes its own checks and serves on day one, as its README says.

The workshop (test_workshop.py) walks one project through validation, drift, retraining,
rollback and the Bento."""

import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

import pytest

from conftest import Project, debian_tool, free_port, what_failed
from processes import start, stop

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
PRODUCTION_PROFILE = MATRIX[0]
"""The variant whose `make ci` runs the production-profile tests (real MLflow and Prefect servers
on the machine's PostgreSQL, about six minutes): they exercise no code that differs by problem
type that the other tests do not, and three at once would double the suite's time. The other
variants see no PostgreSQL and no CI, so those tests skip there, with their reason."""
NO_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:9/postgres"
MAKE_CI_TIMEOUT = 4500
"""Seconds for the variants' `make ci`, three at once beside the rest of the suite on two cores
(about 45 minutes there, where one alone takes 9 on an idle machine); past it, a command hangs."""


def ci_env(project: Project) -> dict[str, str]:
    if project.answers["problem_type"] == PRODUCTION_PROFILE["problem_type"]:
        return {**project.env, "CI": "true"}
    env = {name: value for name, value in project.env.items() if name != "CI"}
    return {**env, "TEST_POSTGRES_URL": NO_POSTGRES}


def label(answers: dict[str, str]) -> str:
    return f"{answers['problem_type']}-py{answers['python_version']}"


@pytest.fixture(scope="session")
def ci_runs(make_project: MakeProject) -> dict[str, subprocess.CompletedProcess[str]]:
    """`make setup`, then `make ci`, in every variant at once: most of a run is waiting on
    servers and subprocesses, so the variants overlap well even on two cores."""
    with ThreadPoolExecutor(len(MATRIX)) as pool:
        projects = list(pool.map(lambda answers: make_project(**answers), MATRIX))
        results = list(
            pool.map(
                lambda project: project.run(
                    "make", "ci", check=False, env=ci_env(project), timeout=MAKE_CI_TIMEOUT
                ),
                projects,
            )
        )
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
    assert result.returncode == 0, what_failed(result)
    assert " passed" in result.stdout
    assert " failed" not in result.stdout
    skipped_profile = re.findall(r"SKIPPED .* no PostgreSQL at ", result.stdout)
    if answers is PRODUCTION_PROFILE:
        assert not skipped_profile, "the production-profile tests must run in this variant"
    else:
        assert skipped_profile, "the production-profile tests must say why they skip"


@contextmanager
def make_serve(project: Project, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`make serve PORT=port` in the project, stopped with its children on exit."""
    log = project.path.parent / f"serve-{port}.log"
    server = start(["make", "serve", f"PORT={port}"], log, cwd=project.path, env=project.env)
    try:
        yield server
    finally:
        stop(server)


@pytest.mark.parametrize("answers", MATRIX, ids=label)
def test_readme_curl_gets_a_prediction_from_the_baseline(
    make_project: MakeProject, answers: dict[str, str]
) -> None:
    """After `make setup`, `make serve` answers the README's curl with version 1 (day one itself,
    `make serve` straight after the copy, is lab 1 of the workshop test)."""
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


def chromium() -> str:
    """Debian's Chromium; .ci/run installs it."""
    return debian_tool("chromium", "chromium-browser", package="chromium")


def test_the_service_pages_load_nothing_from_another_origin(make_project: MakeProject) -> None:
    """Headless Chromium opens the root page and the API docs of `make serve`, recording every
    request the pages make: all go to the service itself, none is refused by the pages'
    Content-Security-Policy, and the docs show the contract's description and /predict."""
    from playwright.sync_api import expect, sync_playwright

    browser_path = chromium()
    project = make_project()
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with make_serve(project, port) as server:
        deadline = time.monotonic() + 120
        while True:
            with suppress(OSError), urllib.request.urlopen(f"{origin}/readyz", timeout=5):
                break
            assert server.poll() is None, "make serve stopped"
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.25)
        requested: list[str] = []
        console: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path)
            try:
                page = browser.new_page()
                page.on("request", lambda request: requested.append(request.url))
                page.on("console", lambda message: console.append(message.text))
                page.goto(f"{origin}/", wait_until="networkidle")
                assert "prediction service" in page.content()
                page.goto(f"{origin}/docs", wait_until="networkidle")
                # Swagger UI renders the spec some time after it arrives (later on a busy
                # machine): wait for what it shows, not for the network to settle
                docs = page.locator("#swagger-ui")
                for shown in ("Predicts churn (binary classification)", "/predict"):
                    expect(docs).to_contain_text(shown, timeout=60_000)
            finally:
                browser.close()
    elsewhere = [url for url in requested if not url.startswith(f"{origin}/")]
    assert not elsewhere, f"the pages loaded from other origins: {elsewhere}"
    assert f"{origin}/static_content/swagger-ui-bundle.js" in requested
    assert not [line for line in console if "Content Security Policy" in line], console


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


def test_the_serving_environment_holds_only_the_serving_dependencies(
    make_project: MakeProject,
) -> None:
    """What the Dockerfile installs (`--no-default-groups`) imports the service and its CLI,
    without the training, validation and monitoring stack, and on its own registers the baseline
    in the embedded registry and loads it as the service does."""
    project = make_project()
    serving = project.path / ".local" / "serving-venv"
    env = {**project.env, "UV_PROJECT_ENVIRONMENT": str(serving)}
    sync = ("uv", "sync", "--frozen", "--no-default-groups", "--compile-bytecode")
    subprocess.run(sync, cwd=project.path, env=env, check=True, capture_output=True)
    registry = {**env, "APP_MLFLOW_TRACKING_URI": f"sqlite:///{serving}/registry.db"}

    def serving_python(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(serving / "bin" / "python"), *args],
            cwd=project.path,
            env=registry,
            capture_output=True,
            text=True,
            check=False,
        )

    result = serving_python(
        "-c",
        "import importlib.util, customer_churn.serving.service, customer_churn.cli.main; "
        "print([m for m in ('great_expectations', 'evidently', 'prefect', 'pytest') "
        "if importlib.util.find_spec(m)])",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"

    bootstrap = serving_python("-m", "customer_churn", "bootstrap")
    assert "registered the baseline as customer_churn version 1" in bootstrap.stdout, (
        bootstrap.stdout + bootstrap.stderr[-3000:]
    )
    loaded = serving_python(
        "-c",
        "from customer_churn.contract.data_contract import DataContract; "
        "from customer_churn.models.registry import load_serving_model; "
        "from customer_churn.config.settings import Settings; "
        "settings = Settings(); "
        "model = load_serving_model(settings, DataContract.load(settings.contract_path)); "
        "print(model.version, model.degraded)",
    )
    assert loaded.stdout.split()[-2:] == ["1", "False"], loaded.stdout + loaded.stderr[-3000:]


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
