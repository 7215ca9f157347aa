"""Usage statistics of the stack's tools, off unless the team turns them on.

Each variable is only set when the environment does not set it already, so a team that wants
to send usage statistics sets, for example, ``DO_NOT_TRACK=false`` in its environment or ``.env``.
"""

import os

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "true",  # Prefect, Evidently and MLflow; MLflow ignores "1"
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def disable_telemetry_by_default() -> None:
    """Switch every tool's telemetry off, keeping any value the environment already sets."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)
