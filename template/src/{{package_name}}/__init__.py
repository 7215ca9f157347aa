"""Production-first ML service built around a data contract."""

from .core.local_state import keep_local_state_in_the_project
from .core.telemetry import disable_telemetry_by_default

disable_telemetry_by_default()
keep_local_state_in_the_project()
