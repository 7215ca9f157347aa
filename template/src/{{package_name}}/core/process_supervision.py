"""Run a long-lived command as a child and stop it, descendants included, within a bound.

A rolling deploy sends SIGTERM, then SIGKILL once its grace period is over. Prefect 3.8's
`prefect worker start` may turn SIGTERM into a SIGINT that it then ignores, or exit and leave
its flow runs (in sessions of their own) running with nobody to report them. `supervise` stops
the descendants first (a flow run's engine then reports it Crashed, so it is not left Running
and the next schedule or alert runs it again), then the child once they are gone, and kills
whatever is left at the deadline.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

import psutil

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _family(root: int) -> list[psutil.Process]:
    """The process ``root`` and every descendant of it that is still alive."""
    try:
        parent = psutil.Process(root)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def running(process: psutil.Process) -> bool:
    """Whether ``process`` still runs (a zombie has ended, it only waits to be reaped)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal_all(processes: list[psutil.Process], signum: int) -> None:
    for process in processes:
        try:
            process.send_signal(signum)
        except psutil.NoSuchProcess:
            continue


class Supervisor:
    """A child process that is stopped within ``stop_seconds`` once a stop is requested.

    On the stop, the child's descendants get SIGTERM; once none is left, the child gets SIGTERM
    and ``settle_seconds`` to exit. What still runs at the deadline is killed. A child that ends
    on its own while descendants run is stopped the same way. ``clock`` is the time source of
    the deadlines (injected by tests).
    """

    def __init__(
        self,
        child: subprocess.Popen[bytes],
        stop_seconds: float,
        settle_seconds: float = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.child = child
        self.stop_seconds = stop_seconds
        self.settle_seconds = settle_seconds
        self.clock = clock
        self.deadline: float | None = None
        self.killed = False
        self._seen: dict[int, psutil.Process] = {}
        self._signalled: set[int] = set()
        self._child_signalled_at: float | None = None

    def request_stop(self) -> None:
        """Start the stop (once): SIGTERM to the descendants, or to the child if it has none."""
        if self.deadline is None:
            self.deadline = self.clock() + self.stop_seconds
            self._advance(self._alive())

    def _alive(self) -> list[psutil.Process]:
        """The child and every descendant seen so far that still runs (orphans included)."""
        self._seen.update((process.pid, process) for process in _family(self.child.pid))
        self._seen = {pid: process for pid, process in self._seen.items() if running(process)}
        return list(self._seen.values())

    def _advance(self, alive: list[psutil.Process]) -> None:
        """SIGTERM to descendants not signalled yet; to the child once they are all gone."""
        descendants = [process for process in alive if process.pid != self.child.pid]
        fresh = [process for process in descendants if process.pid not in self._signalled]
        _signal_all(fresh, signal.SIGTERM)
        self._signalled.update(process.pid for process in fresh)
        if not descendants and self._child_signalled_at is None:
            self._child_signalled_at = self.clock()
            if self.child.poll() is None:
                _signal_all(_family(self.child.pid)[:1], signal.SIGTERM)

    def wait(self, poll_seconds: float = 0.5) -> int:
        """Wait for the child to exit; once stopping, end what is left by the deadlines.

        Returns the child's exit code, once every descendant seen is gone too.
        """
        while True:
            try:
                code: int | None = self.child.wait(timeout=poll_seconds)
            except subprocess.TimeoutExpired:
                code = None
            alive = self._alive()  # before the stop too: a descendant orphaned later is known
            descendants = [process for process in alive if process.pid != self.child.pid]
            if code is not None and not descendants:
                return code
            if self.deadline is None:
                if code is None:
                    continue
                self.request_stop()  # the child ended on its own: its orphans follow it
            self._advance(alive)
            now = self.clock()
            settled = self._child_signalled_at is not None and (
                now >= self._child_signalled_at + self.settle_seconds
            )
            if self.deadline is not None and (now >= self.deadline or settled):
                self.killed = True
                _signal_all(alive, signal.SIGKILL)
                code = self.child.wait()  # reaped here: psutil would take its exit code
                psutil.wait_procs(descendants, timeout=poll_seconds * 10)
                return code
            if code is not None:  # the child is gone: wait on its orphans instead
                psutil.wait_procs(descendants, timeout=poll_seconds)


def supervise(command: list[str], env: dict[str, str], stop_seconds: float, name: str) -> int:
    """Run ``command`` until it exits, or until SIGTERM/SIGINT stops it within ``stop_seconds``.

    Returns the exit code to leave with: the child's, or 0 for a stop on request.
    """
    # A session of its own: a signal to this process's group (Ctrl-C in a terminal) reaches the
    # child only through this process, once.
    child = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603
    supervisor = Supervisor(child, stop_seconds)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if supervisor.deadline is None:
            print(
                f"{name}: {signal.Signals(signum).name} received; stopping (forced after "
                f"{stop_seconds:g} s)",
                file=sys.stderr,
                flush=True,
            )
        supervisor.request_stop()

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    code = supervisor.wait()
    if supervisor.deadline is None:
        return code
    if supervisor.killed:
        print(f"{name}: killed what was left (it did not exit on SIGTERM)", file=sys.stderr)
    return 0
