"""CI/CD files of every provider: schema-valid, free of zizmor findings, calling real targets."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_ANSWERS, render

BIN = Path(sys.executable).parent
PROVIDERS = ["github", "gitlab"]


@pytest.fixture(scope="module", params=PROVIDERS)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp(request.param) / "project"
    result = render(path, {**DEFAULT_ANSWERS, "ci_provider": request.param})
    assert result.returncode == 0, result.stderr
    return path


def pipeline_files(project: Path) -> list[Path]:
    files = sorted((project / ".github" / "workflows").glob("*.yml"))
    files += [project / ".gitlab-ci.yml"] if (project / ".gitlab-ci.yml").exists() else []
    assert files, f"no pipeline files in {project}"
    return files


def tool(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], capture_output=True, text=True, check=False
    )


def test_pipelines_match_their_provider_schema(project: Path) -> None:
    for path in pipeline_files(project):
        schema = "vendor.gitlab-ci" if path.name == ".gitlab-ci.yml" else "vendor.github-workflows"
        result = tool("check-jsonschema", "--builtin-schema", schema, str(path))
        assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"


def test_github_workflows_have_no_zizmor_findings(project: Path) -> None:
    workflows = project / ".github" / "workflows"
    if "ci_provider: gitlab" in (project / ".copier-answers.yml").read_text():
        assert not workflows.exists()
        return
    result = tool("zizmor", "--offline", "--no-progress", "--persona=pedantic", str(workflows))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actions_are_pinned_to_commit_shas(project: Path) -> None:
    for path in pipeline_files(project):
        for action in re.findall(r"uses:\s*(\S+)", path.read_text()):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{path.name}: {action}"


def make_targets(project: Path) -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (project / "Makefile").read_text(), re.MULTILINE))


def test_every_make_target_the_pipelines_call_exists(project: Path) -> None:
    targets = make_targets(project)
    called: set[str] = set()
    for path in pipeline_files(project):
        commands = re.findall(r"^\s*(?:- )?(?:run: )?make (.+)$", path.read_text(), re.MULTILINE)
        for command in commands:
            called |= {word for word in command.split() if "=" not in word}
    assert called, "the pipelines call no make target"
    assert called <= targets, f"missing targets: {sorted(called - targets)}"
    assert {"setup", "ci"} <= called


def test_the_dockerfile_passes_hadolint(project: Path) -> None:
    result = tool("hadolint", "--failure-threshold", "info", str(project / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_pipelines_audit_the_lock_and_the_audit_cannot_pass_silently(project: Path) -> None:
    """`make audit` runs in CI (not on this machine: the advisory database is on the network);
    its command exports every locked dependency, fails on any finding, and skips only what the
    allow-list names."""
    if not pipeline_files(project):
        pytest.skip("no CI provider")
    assert any("make audit" in path.read_text() for path in pipeline_files(project))
    recipe = (project / "Makefile").read_text().split("\naudit:", 1)[1].split("\n\n", 1)[0]
    assert "uv export --frozen --all-groups" in recipe
    assert "pip-audit" in recipe
    assert "--strict" in recipe
    assert "|| true" not in recipe
    assert "config/audit-allowlist.txt" in recipe
    assert (project / "config" / "audit-allowlist.txt").is_file()


def test_retraining_has_one_scheduler_the_prefect_deployment(project: Path) -> None:
    """CI schedules monitoring only; retraining's schedule is APP_RETRAIN_CRON, in one place."""
    text = "\n".join(path.read_text() for path in pipeline_files(project))
    settings = project / "src" / DEFAULT_ANSWERS["package_name"] / "config" / "settings.py"
    default = re.search(r'retrain_cron: str = Field\(\s*default="([^"]+)"', settings.read_text())
    assert default is not None
    files = [path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts]
    everywhere = [path for path in files if default[1] in path.read_text(errors="replace")]
    assert everywhere == [settings]
    if (project / ".github").exists():
        workflows = [yaml.safe_load(path.read_text()) for path in pipeline_files(project)]
        crons = [entry["cron"] for flow in workflows for entry in flow[True].get("schedule", [])]
        assert len(crons) == 1, crons  # the daily monitoring run
        monitoring = (project / ".github" / "workflows" / "monitoring.yml").read_text()
        assert "make retrain" in monitoring
        assert "inputs.retrain" in monitoring
    else:
        jobs = yaml.safe_load(text)
        assert "schedule" not in str(jobs["retrain"]["rules"])


def test_the_readiness_gate_is_off_by_default_and_runs_before_the_production_deploy(
    project: Path,
) -> None:
    """With READINESS_GATE=true the scorecard must pass before production's deploy command,
    and only there; unset, nothing changes."""
    if (project / ".github").exists():
        cd = yaml.safe_load((project / ".github" / "workflows" / "cd.yml").read_text())
        steps = [step.get("run", "") for step in cd["jobs"]["production"]["steps"]]
        gate = next(i for i, run in enumerate(steps) if "make readiness REQUIRE=1" in run)
        deploy = next(i for i, run in enumerate(steps) if run.startswith("make deploy"))
        assert gate < deploy
        gated = cd["jobs"]["production"]["steps"][gate]
        assert gated["if"] == "vars.READINESS_GATE == 'true'"
        assert "APP_MLFLOW_TRACKING_URI" in gated["env"]
        assert all("readiness" not in str(step) for step in cd["jobs"]["staging"]["steps"])
    else:
        pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
        script = pipeline[".deploy"]["script"]
        [gate] = [line for line in script if "make readiness REQUIRE=1" in line]
        assert script.index(gate) < next(i for i, run in enumerate(script) if "make deploy" in run)
        assert '"$CI_ENVIRONMENT_NAME" = production' in gate
        assert '"${READINESS_GATE:-}" = true' in gate
