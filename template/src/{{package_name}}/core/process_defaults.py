"""Defaults every process of the project starts with: telemetry off, local state in ``.local/``.

Applied once at start-up, by the command line and by the service that `bentoml serve` loads,
never at import. A tool of the stack started directly (``bentoml build``, ``mlflow server``,
``prefect server start``) runs through this module: ``python -m <package>.core.process_defaults
TOOL ARGS...`` starts TOOL with the same defaults. Each variable is only set when the
environment does not set it already, so a team that wants to send usage statistics sets, for
example, ``DO_NOT_TRACK=false`` in its environment or ``.env``.
"""

import os
import sys
from pathlib import Path

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "true",  # Prefect, Evidently and MLflow; MLflow ignores "1"
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}
PREFECT_STARTUP_SECONDS = "120"
"""Prefect's temporary server can take 20 s to start on a cold, small machine (its limit)."""


def apply_process_defaults(project: Path | None = None) -> None:
    """Switch telemetry off and keep Prefect's local state in ``project``/.local/prefect.

    ``project`` is the project's root, the working directory by default (as `make` runs).
    """
    root = (project or Path.cwd()).resolve()
    defaults = {
        **TELEMETRY_OFF,
        # Without a Prefect API URL, flows run on a temporary local server whose state lives
        # here instead of ~/.prefect.
        "PREFECT_HOME": str(root / ".local" / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": PREFECT_STARTUP_SECONDS,
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def main() -> None:
    """Start the command ``sys.argv[1:]`` in place of this process, with the defaults applied."""
    if not sys.argv[1:]:
        module = __spec__.name if __spec__ else "process_defaults"
        sys.exit(f"usage: python -m {module} TOOL [ARGS...], e.g. bentoml build")
    apply_process_defaults()
    os.execvp(sys.argv[1], sys.argv[1:])  # noqa: S606 - the tool and arguments the caller chose


if __name__ == "__main__":
    main()
