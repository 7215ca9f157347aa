"""Production-first ML service built around a data contract."""

from .telemetry import disable_telemetry_by_default

disable_telemetry_by_default()
