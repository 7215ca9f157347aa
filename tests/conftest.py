"""Render the template into temporary projects and run their own commands.

One uv cache is shared by every rendered project (UV_CACHE_DIR, else uv's default), so only the
first environment downloads anything.
"""

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import uv
from filelock import FileLock

TEMPLATE = Path(__file__).resolve().parents[1]
# The generated projects' process helpers and hooks, shared with this suite: processes stopped,
# their logs shown under a failed test, none left running when the session ends.
sys.path.insert(0, str(TEMPLATE / "template" / "tests"))
import processes  # noqa: E402 - found through the line above

pytest_configure = processes.pytest_configure
pytest_runtest_setup = processes.pytest_runtest_setup
pytest_runtest_makereport = processes.pytest_runtest_makereport
pytest_sessionfinish = processes.pytest_sessionfinish

FILE_ORDER = (
    "test_generated_projects.py",  # the variants' `make setup` and `make ci`, all at once
    "test_own_data.py",
    "test_own_data_second_half.py",
    "test_workshop.py",
    "test_pipelines.py",  # seconds, 16 tests: queued at once behind the second own-data half
    "test_harness.py",  # seconds: queued at once behind the workshop
    "test_batch_memory.py",
    "test_update.py",
)
"""The order in which pytest-xdist hands out files; the others follow in collection order."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files as FILE_ORDER says. With `--no-loadscope-reorder`, pytest-xdist gives
    each of the four workers one file in this order, the four longest at once, then the next
    file to any worker with two tests or fewer left to run, after each test it finishes. The
    two files queued at once behind the second own-data half and the workshop are short, and
    the first has enough tests that the half takes nothing more while it runs: the longer
    files go to whichever worker is free. By pytest-xdist's own order (most tests first) the
    own-data files came last, behind the short files of one worker; queued behind the
    own-data half, the batch-memory test ran alone at the end."""
    rank = {name: place for place, name in enumerate(FILE_ORDER)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


DEFAULT_ANSWERS = {
    "project_name": "Customer Churn",
    "package_name": "customer_churn",
    "python_version": "3.11",
    "problem_type": "binary_classification",
    "ci_provider": "github",
}

# The template's releases and their commits: add each release when it is tagged.
RELEASES = {
    "v0.1.0": "b9eb3a9abeef305d7dcba35c014db1a04cba4573",
    "v0.2.0": "5307f78069d6a95e5b9089121766d5d71d375f06",
    "v0.3.0": "5fc00da1da54a18f435561ed7be813753879a5ad",
}
OLDEST = "v0.1.0"
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
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
    # Without PYTHONDONTWRITEBYTECODE (set on this machine and in many CI images), Python writes
    # the bytecode of the modules a project imports as it goes, and `make setup` does not compile
    # the whole environment: about 50 CPU-s saved for each of the suite's environments.
    # test_rendering.py checks that `make setup` compiles where the variable is set.
    dropped = {"VIRTUAL_ENV", "UV_PYTHON", "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    folders = [str(Path(uv.find_uv_bin()).parent)]
    interpreter = python_dir(python_version)
    if interpreter:  # otherwise uv downloads the version where it can
        folders.append(interpreter)
    env["PATH"] = os.pathsep.join([*folders, env.get("PATH", "")])
    env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
    env["UV_PYTHON_PREFERENCE"] = "only-system" if interpreter else "managed"
    # This suite runs several projects' tests at once, which fills the cores already: one
    # pytest-xdist worker each (a worker per core in each took .ci/run from 32 to 43 minutes).
    env["PYTEST_XDIST_AUTO_NUM_WORKERS"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def debian_tool(*names: str, package: str) -> str:
    """The first of ``names`` on PATH. Missing, the test fails under CI (`.ci/run` installs
    Debian's ``package``) and is skipped elsewhere."""
    found = next(filter(None, map(shutil.which, names)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{names[0]} is missing: .ci/run installs it from Debian's {package}")
        pytest.skip(f"{names[0]} is not installed (Debian: apt-get install {package})")
    return found


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


def rendered(factory: pytest.TempPathFactory, folder: str) -> Path:
    """A project rendered with the default answers (no environment: for static checks)."""
    path = factory.mktemp(folder) / "project"
    result = render(path, DEFAULT_ANSWERS)
    assert result.returncode == 0, result.stderr
    return path


def what_failed(result: subprocess.CompletedProcess[str]) -> str:
    """A failed command's output for a test's message: pytest's FAILURES and ERRORS sections
    whole (its summary lines are cut at 80 columns and its durations push the sections out of
    the output's tail), then the output's tail."""
    sections = re.findall(r"^=+ (?:FAILURES|ERRORS) =+$.*?(?=^=+ )", result.stdout, re.M | re.S)
    shown = "".join(section[:8000] for section in sections)
    return f"{shown}\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


class Project:
    """A rendered project and a way to run commands in it."""

    def __init__(self, path: Path, answers: dict[str, str]) -> None:
        self.path = path
        self.answers = answers
        self.env = project_env(answers["python_version"])

    def run(
        self,
        *command: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        timeout: float = 2400,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command,
            cwd=self.path,
            env=self.env if env is None else env,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"`{' '.join(command)}` failed in {self.path} ({result.returncode}):\n"
                f"{what_failed(result)}"
            )
        return result


def shared_folder(factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder that every pytest-xdist worker sees (each worker's own
    is a folder in it)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def make_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Project]:
    """Render a project with some answers, as a git repository whose `make setup` has run:
    once per session for the same answers, whichever worker asks first (the others wait)."""
    shared = shared_folder(tmp_path_factory) / "projects"
    shared.mkdir(exist_ok=True)

    def make(**overrides: str) -> Project:
        answers = {**DEFAULT_ANSWERS, **overrides}
        key = "-".join(f"{name}={value}" for name, value in sorted(answers.items()))
        folder = shared / hashlib.sha256(key.encode()).hexdigest()[:12]
        with FileLock(f"{folder}.lock"):
            path = folder / answers["package_name"]
            project = Project(path, answers)
            if not (folder / "set-up").is_file():
                shutil.rmtree(folder, ignore_errors=True)  # a render cut short, if any
                result = render(path, answers)
                assert result.returncode == 0, result.stderr
                project.run("git", "init", "--quiet", "--initial-branch=main")
                project.run("make", "setup")
                (folder / "set-up").write_text(key)
        return project

    return make


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def next_version() -> str:
    """The version the working tree becomes: the minor after the newest release in the
    changelog."""
    released = re.findall(r"^## (\d+)\.(\d+)\.(\d+)", (TEMPLATE / "CHANGELOG.md").read_text(), re.M)
    major, minor, _ = max(tuple(map(int, version)) for version in released)
    return f"v{major}.{minor + 1}.0"


@dataclass
class Versions:
    source: Path
    current: str


@pytest.fixture(scope="session")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    """A clone of the template with its releases tagged (tags do not travel with every clone)
    and the working tree, uncommitted changes included, committed and tagged as the next one."""
    source = tmp_path_factory.mktemp("template") / "template"
    git(TEMPLATE, "clone", "--quiet", "--no-checkout", str(TEMPLATE), str(source))
    for tag, commit in RELEASES.items():
        git(source, "tag", "--force", tag, commit)
    git(source, "checkout", "--quiet", "HEAD")
    for tracked in git(source, "ls-files", "-z").split("\0"):
        if tracked:
            (source / tracked).unlink(missing_ok=True)
    working = git(TEMPLATE, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, working.split("\0")):
        if (TEMPLATE / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, source / name)
    git(source, "add", "--all")
    git(source, "commit", "--quiet", "--allow-empty", "--message", "working tree")
    current = next_version()
    git(source, "tag", current)
    return Versions(source, current)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the timings tests recorded as ``(name, seconds)`` lists (the workshop's labs) and
    the figures they recorded as text, from whichever worker ran them."""
    for report in terminalreporter.stats.get("passed", []):
        for title, timings in getattr(report, "user_properties", []):
            if isinstance(timings, str):
                terminalreporter.write_line(f"\n{title}: {timings}")
            elif isinstance(timings, list):
                terminalreporter.write_line(f"\n{title}:")
                for name, seconds in timings:
                    terminalreporter.write_line(f"  {name:<22} {seconds:6.1f} s")
                total = sum(seconds for _, seconds in timings)
                terminalreporter.write_line(f"  {'total':<22} {total:6.1f} s")
