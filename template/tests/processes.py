"""Processes the tests start: stopped whatever happens, their logs shown when a test fails, and
none left behind when the session ends.

Every process started during a session carries ``TEST_SESSION_MARK`` in its environment (set when
the session starts, inherited by children, grandchildren and processes that left their parent's
session). At the end, any process still carrying the mark fails the run by name and is killed.
The template's own suite uses this file too.
"""

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

MARK = "TEST_SESSION_MARK"
STOP_SECONDS = 30.0
LOG_TAIL = 3000  # characters of each log shown under a failed test
LEFTOVER_GRACE_SECONDS = 10.0

_test_started = pytest.StashKey[float]()


@dataclass
class _Started:
    command: str
    log: Path
    stopped: float | None = None


_started: dict[int, _Started] = {}


def start(
    command: list[str], log: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, its output appended to ``log``.

    Stop it with :func:`stop`; while it runs, a failing test shows the end of ``log``.
    """
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _started[process.pid] = _Started(" ".join(Path(part).name for part in command[:3]), log)
    return process


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        return


def _descendants(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    try:
        return psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop(process: subprocess.Popen[bytes], seconds: float = STOP_SECONDS) -> float:
    """SIGTERM to the process's group, SIGKILL after ``seconds``; returns the seconds until the
    process itself exited. Descendants it leaves behind, in its group or not, are killed."""
    began = time.monotonic()
    descendants = _descendants(process)
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    took = time.monotonic() - began
    _signal_group(process, signal.SIGKILL)  # whatever the group left behind
    for descendant in descendants:
        try:
            descendant.kill()
        except psutil.NoSuchProcess:
            continue
    if process.pid in _started:
        _started[process.pid].stopped = time.time()
    return took


def log_tail(path: Path, characters: int = LOG_TAIL) -> str:
    """The end of a log file ('' when there is none)."""
    try:
        return path.read_text(errors="replace")[-characters:]
    except FileNotFoundError:
        return ""


def marked_processes(mark: str) -> list[psutil.Process]:
    """Processes other than this one whose environment carries ``mark``."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(MARK) == mark:
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def is_xdist_controller(config: pytest.Config) -> bool:
    """The controller of pytest-xdist workers runs no test itself."""
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """Mark this session's processes (xdist workers each mark their own)."""
    if not is_xdist_controller(config):
        os.environ[MARK] = uuid.uuid4().hex


def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_test_started] = time.time()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the end of the log of every process that ran during it."""
    report = yield
    if report.failed:
        since = item.stash.get(_test_started, 0.0)
        for pid, started in _started.items():
            if started.stopped is None or started.stopped >= since:
                tail = log_tail(started.log)
                report.sections.append((f"log of {started.command} (pid {pid})", tail))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run, naming them, if processes this session started are still alive; kill them."""
    mark = os.environ.get(MARK)
    if mark is None or is_xdist_controller(session.config):
        return
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS  # a process may be on its way out
    while (left := marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not left:
        return
    names = []
    for process in left:
        try:
            names.append(f"pid {process.pid}: {' '.join(process.cmdline())[:200]}")
            process.kill()
        except psutil.NoSuchProcess:
            continue
    if names:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "processes started by the tests were still running (now killed):\n  "
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(message + "\n  ".join(names), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
