"""The readiness thresholds (``config/readiness.yaml``): what the scorecard counts as met."""

from pathlib import Path

from pydantic import Field

from ..core.errors import UserError
from ..core.yaml_files import StrictModel, load_model

CRITERIA = (
    "edge_cases",
    "monitoring",
    "feedback",
    "rollback",
    "ownership",
    "governance",
    "real_data",
    "serving",
)
"""The scorecard's criteria, in the order it shows them."""


class ReadinessConfigError(UserError):
    """The readiness thresholds are unreadable or wrong."""


class ReadinessConfig(StrictModel):
    """Thresholds the team owns; the defaults are the template's starting point."""

    max_evaluation_age_days: float = Field(default=35, gt=0)
    max_monitoring_age_hours: float = Field(default=26, gt=0)
    feedback_window_days: float = Field(default=30, gt=0)
    min_feedback_share: float = Field(default=0.05, ge=0, le=1)
    serving_window_days: float = Field(default=7, gt=0)
    min_availability: float = Field(default=0.995, ge=0, le=1)
    max_p99_latency_seconds: float = Field(default=0.3, gt=0)
    placeholders: tuple[str, ...] = ("@ml-platform", "example.com", "TODO", "TBD", "pending")
    gate_allows_unknown: tuple[str, ...] = ("serving",)

    @classmethod
    def load(cls, path: Path) -> "ReadinessConfig":
        """Read the file; a project without one (generated before it existed) gets defaults."""
        if not path.is_file():
            return cls()
        config = load_model(
            cls,
            path,
            what="readiness configuration",
            missing_hint="Restore it from the template or set APP_READINESS_CONFIG_PATH.",
            error=ReadinessConfigError,
        )
        unknown = sorted(set(config.gate_allows_unknown) - set(CRITERIA))
        if unknown:
            raise ReadinessConfigError(
                f"{path}: gate_allows_unknown names {', '.join(unknown)}, which are not "
                f"criteria (they are {', '.join(CRITERIA)})"
            )
        return config
