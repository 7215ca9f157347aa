"""The questions: defaults need no prompt, bad answers are refused with a clear message."""

from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_ANSWERS, TEMPLATE, copier, render


def test_defaults_need_no_prompt_and_print_the_next_commands(tmp_path: Path) -> None:
    result = copier("copy", "--defaults", "--vcs-ref=HEAD", str(TEMPLATE), str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    for step in ("make setup", "make ci", "contract infer"):
        assert step in result.stdout + result.stderr
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert {name: answers[name] for name in DEFAULT_ANSWERS} == DEFAULT_ANSWERS


def test_slug_and_package_name_derive_from_the_project_name(tmp_path: Path) -> None:
    result = render(tmp_path / "p", {"project_name": "Fraud Alerts EU"})
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "fraud-alerts-eu"
    assert answers["package_name"] == "fraud_alerts_eu"
    assert (tmp_path / "p" / "src" / "fraud_alerts_eu" / "cli" / "main.py").is_file()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("project_slug=Customer_Churn", '"Customer_Churn" is not a valid slug'),
        ("project_slug=-churn", '"-churn" is not a valid slug'),
        ("package_name=1churn", '"1churn" is not a valid package name'),
        ("package_name=customer-churn", '"customer-churn" is not a valid package name'),
        ("package_name=pandas", '"pandas" would shadow a folder or a library'),
        (f"package_name={'p' * 41}", "is longer than 40 characters"),
        ("author_email=nobody", '"nobody" is not an e-mail address'),
        ("owning_team=ml-team", '"ml-team" is not a handle'),
        ("problem_type=clustering", "clustering"),
        ("python_version=3.9", "3.9"),
        ("ci_provider=jenkins", "jenkins"),
    ],
)
def test_bad_answers_are_refused_with_a_clear_message(
    tmp_path: Path, answer: str, message: str
) -> None:
    result = copier(
        "copy", "--defaults", "--vcs-ref=HEAD", f"--data={answer}", str(TEMPLATE), str(tmp_path)
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "pyproject.toml").exists()
