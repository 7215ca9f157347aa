"""Render the template into temporary projects and run their own commands.

One uv cache is shared by every rendered project (UV_CACHE_DIR, else uv's default), so only the
first environment downloads anything.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import uv

TEMPLATE = Path(__file__).resolve().parents[1]

DEFAULT_ANSWERS = {
    "project_name": "Customer Churn",
    "package_name": "customer_churn",
    "python_version": "3.11",
    "problem_type": "binary_classification",
    "ci_provider": "github",
}


def python_dir(version: str) -> str | None:
    """A folder holding `pythonX.Y` for uv to find: PATH first, then pyenv's versions."""
    found = shutil.which(f"python{version}")
    if found and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0:
        return str(Path(found).parent)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    return str(Path(candidates[-1]).parent) if candidates else None


def project_env(python_version: str) -> dict[str, str]:
    """Environment for a rendered project's commands: our uv first, no venv of ours leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PYTHON"}}
    folders = [str(Path(uv.find_uv_bin()).parent)]
    interpreter = python_dir(python_version)
    if interpreter:  # otherwise uv downloads the version where it can
        folders.append(interpreter)
    env["PATH"] = os.pathsep.join([*folders, env.get("PATH", "")])
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
    env["UV_PYTHON_PREFERENCE"] = "only-system" if interpreter else "managed"
    return env


def copier(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the copier command line as a team does, with no terminal to prompt on."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def render(destination: Path, answers: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`copier copy --defaults` of the working tree (HEAD plus uncommitted changes)."""
    data = [f"--data={name}={value}" for name, value in answers.items()]
    return copier("copy", "--defaults", "--vcs-ref=HEAD", *data, str(TEMPLATE), str(destination))


class Project:
    """A rendered project and a way to run commands in it."""

    def __init__(self, path: Path, answers: dict[str, str]) -> None:
        self.path = path
        self.answers = answers
        self.env = project_env(answers["python_version"])

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command,
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=1200,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"`{' '.join(command)}` failed in {self.path} ({result.returncode}):\n"
                f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            )
        return result


@pytest.fixture(scope="session")
def make_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Project]:
    """Render a project with some answers, as a git repository whose `make setup` has run."""
    cache: dict[tuple[tuple[str, str], ...], Project] = {}

    def make(**overrides: str) -> Project:
        answers = {**DEFAULT_ANSWERS, **overrides}
        key = tuple(sorted(answers.items()))
        if key not in cache:
            path = tmp_path_factory.mktemp(answers["problem_type"]) / answers["package_name"]
            result = render(path, answers)
            assert result.returncode == 0, result.stderr
            project = Project(path, answers)
            project.run("git", "init", "--quiet", "--initial-branch=main")
            project.run("make", "setup")
            cache[key] = project
        return cache[key]

    return make
