"""The suite's own helpers: what a failed command in a rendered project shows."""

import subprocess
import sys
from pathlib import Path

from conftest import what_failed


def test_a_failed_project_test_shows_its_assertion_beyond_the_outputs_tail(
    tmp_path: Path,
) -> None:
    """A generated suite's output ends with durations and skip reasons that can fill the tail
    a message keeps; the failure's own lines must still be shown whole."""
    (tmp_path / "test_fails.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', range(100))\n"
        "def test_skips(n):\n    pytest.skip(f'a long reason to skip number {n} ' * 3)\n\n"
        "def test_fails():\n    assert 503 < 500, 'POST /feedback: the prediction log is busy'\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "test_fails.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "the prediction log is busy" not in result.stdout[-6000:]  # what the tail alone hid
    assert "POST /feedback: the prediction log is busy" in what_failed(result)
