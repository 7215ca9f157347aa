"""Where tools keep local state when no server is configured: ``.local/`` in the project.

Like telemetry, each variable is set only when the environment does not set it already.
"""

import os
from pathlib import Path

PREFECT_DEFAULTS = {
    # Without a Prefect API URL, flows run on a temporary local server whose state lives here
    # instead of ~/.prefect.
    "PREFECT_HOME": str(Path(".local/prefect").resolve()),
    # The temporary server can take 20 s to start on a cold, small machine (Prefect's limit).
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def keep_local_state_in_the_project() -> None:
    """Point tools without a server at the project's ``.local/`` folder."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
