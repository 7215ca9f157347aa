"""What `copier copy` writes for each answer set, checked without installing anything."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_ANSWERS, project_env, render

VARIANTS = {
    "binary-github-mit": {
        "project_name": "Risk Scoring",  # the lock's project name follows it
        "problem_type": "binary_classification",
        "ci_provider": "github",
        "license": "MIT",
        "python_version": "3.11",
    },
    "multiclass-gitlab-apache": {
        "problem_type": "multiclass_classification",
        "ci_provider": "gitlab",
        "license": "Apache-2.0",
        "python_version": "3.12",
    },
    "regression-none-proprietary": {
        "problem_type": "regression",
        "ci_provider": "none",
        "license": "Proprietary",
        "python_version": "3.13",
    },
}
TARGETS = {
    "binary_classification": "churn",
    "multiclass_classification": "next_plan",
    "regression": "next_month_spend",
}
CI_FILES = {
    "github": [".github/workflows/ci.yml", ".github/CODEOWNERS"],
    "gitlab": [".gitlab-ci.yml", ".gitlab/CODEOWNERS"],
    "none": ["CODEOWNERS"],
}
LICENCE_FIRST_WORDS = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License",
    "Proprietary": "Copyright",
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = {"owning_team": "@acme/risk-ml", **VARIANTS[request.param]}
    path = tmp_path_factory.mktemp(request.param) / "project"
    result = render(path, answers)
    assert result.returncode == 0, result.stderr
    return path


def answers_of(project: Path) -> dict[str, str]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def files_of(project: Path) -> list[Path]:
    return [path for path in project.rglob("*") if path.is_file()]


def test_no_template_syntax_or_machine_paths_are_left(rendered: Path) -> None:
    for path in files_of(rendered):
        assert not path.name.endswith(".jinja"), path
        text = path.read_text(errors="replace")
        assert not re.search(r"(?<!\$)\{\{|\{%", text), (
            f"Jinja left in {path}"
        )  # ${{ }} is GitHub's
        if path.name != ".copier-answers.yml":  # it records where the template came from
            assert not re.search(r"/(tmp|work|root|home)/", text), f"machine path in {path}"


def test_ci_files_and_owners_follow_the_provider(rendered: Path) -> None:
    provider = answers_of(rendered)["ci_provider"]
    for expected in CI_FILES[provider]:
        assert (rendered / expected).is_file(), expected
    others = {f for name, files in CI_FILES.items() if name != provider for f in files}
    assert not any((rendered / other).exists() for other in others)
    owners = next(rendered / f for f in CI_FILES[provider] if f.endswith("CODEOWNERS"))
    assert "* @acme/risk-ml" in owners.read_text()


def test_contract_and_sample_follow_the_problem_type(rendered: Path) -> None:
    problem_type = answers_of(rendered)["problem_type"]
    contract = yaml.safe_load((rendered / "contract/data_contract.yaml").read_text())
    assert contract["target"]["name"] == TARGETS[problem_type]
    for name in ("train.csv", "holdout.csv", "edge_cases.csv"):
        header = (rendered / "data/sample" / name).read_text().splitlines()[0]
        assert header.endswith(f",{TARGETS[problem_type]}"), name
    assert sorted(p.name for p in (rendered / "data").iterdir()) == ["sample"]


def test_python_version_and_licence_are_applied(rendered: Path) -> None:
    answers = answers_of(rendered)
    assert (rendered / ".python-version").read_text().strip() == answers["python_version"]
    pyproject = (rendered / "pyproject.toml").read_text()
    assert f'requires-python = ">={answers["python_version"]}"' in pyproject
    licence = (rendered / "LICENSE").read_text().strip()
    assert licence.startswith(LICENCE_FIRST_WORDS[answers["license"]])


def test_the_default_python_starts_from_the_templates_lock(rendered: Path) -> None:
    """uv.lock ships for the default Python and matches the project's dependencies and name
    (`uv lock --check` fails when template/pyproject.toml.jinja changed without
    scripts/lock_template.py); other Pythons get theirs from `make setup`."""
    answers = answers_of(rendered)
    lock = rendered / "uv.lock"
    assert lock.exists() == (answers["python_version"] == DEFAULT_ANSWERS["python_version"])
    if lock.exists():
        check = subprocess.run(
            ["uv", "lock", "--check"],
            cwd=rendered,
            env=project_env(answers["python_version"]),
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, f"{check.stderr}\nrun: uv run python scripts/lock_template.py"
        assert f'name = "{answers["project_slug"]}"' in lock.read_text()


def test_the_longest_package_name_keeps_the_code_formatted_and_lint_clean(tmp_path: Path) -> None:
    """Lines that hold the package name must not change length-dependent formatting."""
    path = tmp_path / "project"
    longest = "p" * 40
    assert render(path, {"package_name": longest}).returncode == 0
    ruff = str(Path(sys.executable).with_name("ruff"))
    for command in ([ruff, "format", "--check", "."], [ruff, "check", "."]):
        result = subprocess.run(command, cwd=path, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dont_write", ["1", ""], ids=["PYTHONDONTWRITEBYTECODE=1", "unset"])
def test_setup_compiles_the_environment_only_where_python_writes_no_bytecode(
    rendered: Path, dont_write: str
) -> None:
    """Where Python writes bytecode as it imports, compiling every installed module at `make
    setup` (about 50 CPU-s) is wasted; where it does not (PYTHONDONTWRITEBYTECODE, set in many CI
    images), every process would compile what it imports again."""
    env = project_env("3.11")  # without the variable
    if dont_write:
        env["PYTHONDONTWRITEBYTECODE"] = dont_write
    for target in ("setup", ".venv"):  # the whole environment; the serving one before setup
        planned = subprocess.run(
            ["make", "--dry-run", "--always-make", target],
            cwd=rendered,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        [sync] = [line for line in planned.splitlines() if line.startswith("uv sync")]
        assert ("--compile-bytecode" in sync) == bool(dont_write), sync
