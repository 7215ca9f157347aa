"""The training configuration (``config/training.yaml``): outcome, estimator, promotion rules."""

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import Field, model_validator

from ..contract.data_contract import DataContract, ProblemType
from ..core.errors import UserError
from ..core.yaml_files import StrictModel, load_model


class TrainingConfigError(UserError):
    """The training configuration is missing, unreadable or does not fit the contract."""


class Estimator(StrEnum):
    """Model families a candidate can be trained with."""

    HIST_GRADIENT_BOOSTING = "hist_gradient_boosting"
    RANDOM_FOREST = "random_forest"
    LINEAR = "linear"


METRICS: dict[ProblemType, tuple[str, ...]] = {
    ProblemType.BINARY_CLASSIFICATION: ("roc_auc", "accuracy", "f1"),
    ProblemType.MULTICLASS_CLASSIFICATION: ("f1_macro", "accuracy"),
    ProblemType.REGRESSION: ("mae", "rmse", "r2"),
}
"""Metrics per problem type; the first is reported first."""

LOWER_IS_BETTER = frozenset({"mae", "rmse"})


Text = Annotated[str, Field(min_length=1)]


class BusinessOutcome(StrictModel):
    """What the model is for, in business terms; logged with every trained version."""

    metric: Text
    target: Text
    population: Text
    timeframe: Text

    def as_tags(self) -> dict[str, str]:
        """The outcome as MLflow tags (``outcome.metric``, ...)."""
        return {f"outcome.{key}": value for key, value in self.model_dump().items()}


class ModelConfig(StrictModel):
    """Which estimator, with which hyper-parameters."""

    estimator: Estimator = Estimator.HIST_GRADIENT_BOOSTING
    params: dict[str, Any] = Field(default_factory=dict)


class HoldoutPolicy(StrEnum):
    """Which labelled rows candidate and champion are compared on."""

    NEWEST = "newest"
    """The newest ``holdout_share`` of each run's data: the comparison follows the data."""
    FILE = "file"
    """APP_HOLDOUT_DATA as it is: a curated set the team refreshes itself."""


class Undecided(StrEnum):
    """What becomes of a candidate the gate cannot decide on (too few rows, a wide interval)."""

    REFUSE = "refuse"
    CHALLENGER = "challenger"


class EvaluationConfig(StrictModel):
    """How a candidate is judged against the champion."""

    primary_metric: str
    min_improvement: float = Field(default=0.01, ge=0)
    confidence: float = Field(default=0.95, ge=0.5, lt=1)
    """The interval of the candidate's gain that must clear ``min_improvement``."""
    bootstrap_resamples: int = Field(default=1000, ge=100, le=100_000)
    min_holdout_rows: int = Field(default=50, ge=10)
    """Fewer labelled held-out rows and the gate cannot decide."""
    holdout: HoldoutPolicy = HoldoutPolicy.NEWEST
    holdout_share: float = Field(default=0.2, gt=0, le=0.5)
    undecided: Undecided = Undecided.REFUSE
    min_shadow_rows: int = Field(default=0, ge=0)
    """Above 0: a version is promoted only with this many shadow predictions logged."""
    min_shadow_agreement: float = Field(default=0.0, ge=0, le=1)
    """Share of shadowed requests on which challenger and champion must agree."""
    min_shadow_labelled: int = Field(default=0, ge=0)
    """Above 0: shadowed predictions with an outcome needed, and the quality rule applies."""
    max_shadow_quality_loss: float = Field(default=0.0, ge=0)
    """How much worse than the champion's the challenger's live accuracy (or MAE) may be."""


class BehaviourCheck(StrictModel):
    """One case a promoted model must get right."""

    name: str
    record: dict[str, Any]
    expect: str | None = None
    expect_between: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_expectation(self) -> Self:
        if (self.expect is None) == (self.expect_between is None):
            raise ValueError(f"check '{self.name}': give either expect or expect_between")
        return self


class TrainingConfig(StrictModel):
    """Everything `make retrain` reads besides the data."""

    outcome: BusinessOutcome
    model: ModelConfig = Field(default_factory=ModelConfig)
    evaluation: EvaluationConfig
    behaviour_checks: tuple[BehaviourCheck, ...] = ()

    @classmethod
    def load(cls, path: Path, contract: DataContract) -> "TrainingConfig":
        """Read the file and check it against the contract."""
        config = load_model(
            cls,
            path,
            what="training configuration",
            missing_hint="Restore it from the template or set APP_TRAINING_CONFIG_PATH.",
            error=TrainingConfigError,
        )
        problems = config.problems(contract)
        if problems:
            raise TrainingConfigError(f"{path}: " + "; ".join(problems))
        return config

    def problems(self, contract: DataContract) -> list[str]:
        """What in this configuration does not fit ``contract``."""
        found: list[str] = []
        allowed = METRICS[contract.problem_type]
        if self.evaluation.primary_metric not in allowed:
            found.append(
                f"primary_metric '{self.evaluation.primary_metric}' is not one of "
                f"{', '.join(allowed)} ({contract.problem_type.value})"
            )
        for check in self.behaviour_checks:
            unknown = sorted(set(check.record) - set(contract.feature_names))
            if unknown:
                found.append(f"check '{check.name}': {', '.join(unknown)} not in the contract")
            classes = contract.target.classes
            if check.expect is not None and (classes is None or check.expect not in classes):
                found.append(f"check '{check.name}': expect '{check.expect}' is not a class")
            if check.expect_between is not None and classes is not None:
                found.append(f"check '{check.name}': expect_between is for regression")
        return found


def write_behaviour_checks(
    path: Path, checks: list[BehaviourCheck], contract: DataContract
) -> None:
    """Replace the behaviour checks of ``path`` (and a primary metric that no longer fits).

    The rest of the file (outcome, estimator, margins) and its comments are kept as they are.
    """
    text = path.read_text(encoding="utf-8")
    allowed = METRICS[contract.problem_type]
    metric = re.search(r"^(\s*primary_metric:\s*)(\S+)", text, flags=re.MULTILINE)
    if metric and metric.group(2) not in allowed:
        text = text[: metric.start(2)] + allowed[0] + text[metric.end(2) :]
    start = re.search(r"^behaviour_checks:.*$", text, flags=re.MULTILINE)
    head = text[: start.start()] if start else text.rstrip("\n") + "\n"
    if checks:
        document = [check.model_dump(exclude_none=True) for check in checks]
        body = yaml.safe_dump({"behaviour_checks": document}, sort_keys=False, allow_unicode=True)
    else:
        body = (
            "# No clear cases were found in the data: add the cases a domain expert expects.\n"
            "behaviour_checks: []\n"
        )
    path.write_text(head + body, encoding="utf-8")
