"""Size of the serving environment (what the container installs) against the development one."""

import subprocess
from pathlib import Path

from .project import ENV


def size_mb(folder: Path) -> float:
    return (
        sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
    )


def packages(project: Path, *groups: str) -> int:
    command = ["uv", "export", "--frozen", "--no-hashes", "--no-emit-project", *groups]
    lines = subprocess.run(
        command, cwd=project, env=ENV, check=True, capture_output=True, text=True
    )
    return sum(1 for line in lines.stdout.splitlines() if line and not line.startswith(("#", " ")))


def run(project: Path) -> None:
    serving = project / ".local" / "serving-venv"
    subprocess.run(
        ["uv", "sync", "--frozen", "--no-default-groups", "--compile-bytecode"],
        cwd=project,
        env={**ENV, "UV_PROJECT_ENVIRONMENT": str(serving)},
        check=True,
        capture_output=True,
    )
    rows = {
        "serving (the container's dependency set: `uv sync --no-default-groups`)": (
            packages(project, "--no-default-groups"),
            size_mb(serving),
        ),
        "development (`make setup`: every group)": (
            packages(project, "--all-groups"),
            size_mb(project / ".venv"),
        ),
    }
    print("## Footprint\n")
    print("| Environment | Packages | Size on disk (MB) |\n| --- | ---: | ---: |")
    for name, (count, megabytes) in rows.items():
        print(f"| {name} | {count} | {megabytes:,.0f} |")
    (serve_count, serve_mb), (dev_count, dev_mb) = rows.values()
    print(
        f"\nServing is {serve_mb / dev_mb:.0%} of the development environment's size "
        f"({serve_count} of {dev_count} packages).\n"
    )
