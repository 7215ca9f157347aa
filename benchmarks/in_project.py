"""Run a script of `benchmarks/inside/` with the generated project's environment."""

import subprocess
from pathlib import Path

from .project import ENV

INSIDE = Path(__file__).resolve().parent / "inside"


def run(project: Path, name: str, *args: str) -> None:
    command = ["uv", "run", "--no-sync", "python", str(INSIDE / f"{name}.py"), *args]
    subprocess.run(command, cwd=project, env=ENV, check=True)
