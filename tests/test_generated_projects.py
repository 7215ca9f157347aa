"""Each rendered project passes its own checks: `make setup && make ci`, as its CI runs them."""

from collections.abc import Callable

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


@pytest.mark.parametrize(
    "answers", MATRIX, ids=lambda a: f"{a['problem_type']}-py{a['python_version']}"
)
def test_generated_project_passes_its_own_ci(
    make_project: MakeProject, answers: dict[str, str]
) -> None:
    project = make_project(**answers)
    assert (project.path / "uv.lock").is_file(), "make setup must write uv.lock"
    python = project.run("uv", "run", "python", "-c", "import sys; print(sys.version)").stdout
    assert python.startswith(answers["python_version"])
    result = project.run("make", "ci")
    assert " passed" in result.stdout
    assert " failed" not in result.stdout


def test_pre_commit_refuses_leftover_conflict_markers(make_project: MakeProject) -> None:
    project = make_project()
    readme = project.path / "README.md"
    readme.write_text(
        readme.read_text()
        + "<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n"
    )
    result = project.run(
        "uv", "run", "pre-commit", "run", "conflict-markers", "--files", "README.md", check=False
    )
    assert result.returncode != 0
    assert "README.md" in result.stdout
    readme.write_text(readme.read_text().split("<<<<<<<")[0])
    project.run("uv", "run", "pre-commit", "run", "conflict-markers", "--files", "README.md")


@pytest.mark.parametrize(
    "target", ["serve", "validate", "monitor", "retrain", "promote", "rollback"]
)
def test_targets_not_built_yet_fail_loudly(make_project: MakeProject, target: str) -> None:
    result = make_project().run("make", target, check=False)
    assert result.returncode != 0
    assert "not part of this project yet" in result.stderr
