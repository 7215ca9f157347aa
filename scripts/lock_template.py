"""Refresh the template's `uv.lock`, which every project on the default Python starts from.

Renders the default project from the working tree, locks it (starting from the current template
lock, so only what pyproject.toml changed moves; `--upgrade` takes the newest allowed versions)
and writes the lock back with the project's name as a template variable. Run it after changing
the dependencies in `template/pyproject.toml.jinja`; `tests/test_rendering.py` fails until then.

    uv run python scripts/lock_template.py [--upgrade]
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
LOCK = TEMPLATE / "template" / "{% if python_version == '3.11' %}uv.lock{% endif %}.jinja"
SLUG = "customer-churn"  # the default answers' project_slug


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="take the newest allowed versions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / SLUG
        copier = [sys.executable, "-m", "copier", "copy", "--defaults", "--vcs-ref=HEAD", "--quiet"]
        subprocess.run([*copier, str(TEMPLATE), str(project)], check=True)
        command = ["uv", "lock", *(["--upgrade"] if args.upgrade else [])]
        subprocess.run(command, cwd=project, check=True)
        lock = (project / "uv.lock").read_text()
    root = f'name = "{SLUG}"\n'
    if lock.count(root) != 1 or "{{" in lock or "{%" in lock:
        sys.exit(f"unexpected lock: expected one '{root.strip()}' and no Jinja syntax")
    LOCK.write_text(lock.replace(root, 'name = "{{ project_slug }}"\n'))
    print(f"wrote {LOCK.relative_to(TEMPLATE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
