"""The workshop's labs, run command by command as a participant would, so they cannot rot.

Conventions of docs/workshop/lab-*.md (see its index): every line of a `bash` block is a command;
a block that starts with `# terminal 2` runs in the background until the end; a comment with
`fails` expects a non-zero exit, one with `shows: TEXT` expects TEXT in the output.
"""

import re
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import TEMPLATE, Versions, free_port, project_env
from processes import start, stop

LABS = sorted((TEMPLATE / "docs" / "workshop").glob("lab-*.md"))
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
RETRY_SECONDS = 60
DOC_PORT = "127.0.0.1:3000"


@dataclass(frozen=True)
class Step:
    command: str
    fails: bool = False
    shows: str | None = None


def steps(lab: Path) -> list[Step | list[Step]]:
    """The lab's commands in order; a background block is a list."""
    found: list[Step | list[Step]] = []
    for block in BLOCK.findall(lab.read_text()):
        lines = [line for line in block.splitlines() if line.strip()]
        background = lines[0].strip() == "# terminal 2"
        parsed = []
        for line in lines[1:] if background else lines:
            command, _, comment = line.partition("  # ")
            shows = re.search(r"shows: (.+)$", comment)
            parsed.append(Step(command, "fails" in comment, shows.group(1) if shows else None))
        if background:
            found.append(parsed)
        else:
            found.extend(parsed)
    return found


READY_SECONDS = 600
"""A hang guard, not a speed target: the first `make serve` of a lab creates .venv first (about
25 s to an answer alone, minutes beside the rest of the suite on two cores)."""


def wait_until_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the service of `# terminal 2` did not become ready in {READY_SECONDS} s")


def test_every_lab_runs_as_written(
    versions: Versions, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    assert [lab.name[:6] for lab in LABS] == [f"lab-{n}-" for n in range(1, len(LABS) + 1)]
    port = free_port()
    env = {
        **project_env("3.11"),
        "TEMPLATE": str(versions.source),
        "PORT": str(port),  # `make serve` and `make simulate-traffic` read it
        "APP_MODEL_REFRESH_SECONDS": "2",  # the labs wait up to 30 s for a new champion
    }
    cwd = tmp_path
    servers: list[subprocess.Popen[bytes]] = []
    timings: list[tuple[str, float]] = []
    try:
        for lab in LABS:
            started = time.monotonic()
            for step in steps(lab):
                if isinstance(step, list):
                    command = " && ".join(s.command for s in step)
                    log = tmp_path / f"{lab.stem}-terminal-2.log"
                    server = start(["bash", "-c", command], log, cwd=cwd, env=env)
                    servers.append(server)
                    wait_until_ready(port, server)
                elif step.command.startswith("cd "):
                    cwd = cwd / step.command.removeprefix("cd ").strip()
                else:
                    run(step, cwd, env, port, lab.name)
            timings.append((lab.stem, time.monotonic() - started))
    finally:
        for server in servers:
            stop(server)
    # Printed at the end of the run by conftest.pytest_terminal_summary.
    record_property("workshop hands-on time (commands only)", timings)


def run(step: Step, cwd: Path, env: dict[str, str], port: int, lab: str) -> None:
    """Run one command; retry a `shows` check on a running service for up to a minute."""
    command = step.command.replace(DOC_PORT, f"127.0.0.1:{port}")
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=1200,
        )
        output = result.stdout + result.stderr
        exited_as_expected = (result.returncode != 0) == step.fails
        shown = step.shows is None or step.shows in output
        if exited_as_expected and shown:
            return
        if not command.startswith("curl") or time.monotonic() > deadline:
            pytest.fail(
                f"{lab}: `{step.command}` exited {result.returncode}"
                f"{' (expected a failure)' if step.fails else ''}"
                f"{f', without showing {step.shows!r}' if not shown else ''}:\n{output[-5000:]}"
            )
        time.sleep(1)
