"""Evaluation of a candidate against the champion on the same data, and the promotion decision.

Both models are called through the registry's pyfunc interface, so what is evaluated is exactly
what would be served.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from ..config.training import LOWER_IS_BETTER, METRICS, BehaviourCheck, TrainingConfig
from ..contract.data_contract import DataContract, FeatureType, ProblemType
from ..contract.schemas import cast_features
from ..models.explanations import typical_values
from ..models.registry import Predictor
from ..models.scoring import answer_quality


def _positive_probability(output: pd.DataFrame, positive: str) -> np.ndarray:
    confidence = pd.to_numeric(output["confidence"], errors="coerce").fillna(0.5).to_numpy()
    return np.where(output["prediction"].astype(str) == positive, confidence, 1 - confidence)


def _measured(value: float | None) -> float:
    if value is None:
        raise ValueError("no labelled rows to evaluate")
    return value


def score_metrics(
    output: pd.DataFrame, truth: pd.Series, contract: DataContract
) -> dict[str, float]:
    """Every metric of the problem type, for predictions ``output`` against ``truth``."""
    problem = contract.problem_type
    if problem is ProblemType.REGRESSION:
        predicted = pd.to_numeric(output["prediction"]).to_numpy()
        actual = pd.to_numeric(truth).to_numpy()
        return {
            "mae": _measured(answer_quality(zip(predicted, actual, strict=True), regression=True)),
            "rmse": float(math.sqrt(sk.mean_squared_error(actual, predicted))),
            "r2": float(sk.r2_score(actual, predicted)),
        }
    predicted_labels = output["prediction"].astype(str).to_numpy()
    actual_labels = truth.astype(str).to_numpy()
    pairs = zip(predicted_labels, actual_labels, strict=True)
    found = {"accuracy": _measured(answer_quality(pairs, regression=False))}
    classes = list(contract.target.classes or ())
    if problem is ProblemType.BINARY_CLASSIFICATION:
        positive = contract.target.positive or classes[1]
        found["f1"] = float(sk.f1_score(actual_labels, predicted_labels, pos_label=positive))
        found["roc_auc"] = float(
            sk.roc_auc_score(actual_labels == positive, _positive_probability(output, positive))
        )
    else:
        found["f1_macro"] = float(
            sk.f1_score(actual_labels, predicted_labels, labels=classes, average="macro")
        )
    return {name: found[name] for name in METRICS[problem]}


def boundary_records(base: dict[str, Any], contract: DataContract) -> pd.DataFrame:
    """``base`` with each feature set in turn to each edge the contract allows."""
    records: list[dict[str, Any]] = []
    for feature in contract.features:
        if feature.values:
            edges: list[Any] = list(feature.values)
        elif feature.type is FeatureType.BOOLEAN:
            edges = [False, True]
        elif feature.type is FeatureType.DATETIME:
            edges = []
        else:
            edges = [value for value in (feature.minimum, feature.maximum) if value is not None]
        if feature.nullable:
            edges.append(None)
        records += [{**base, feature.name: edge} for edge in edges]
    return cast_features(pd.DataFrame.from_records(records), contract)


@dataclass(frozen=True)
class CheckResult:
    """One behaviour check (or the boundary check) for one model."""

    name: str
    passed: bool
    detail: str


def _valid_answers(output: pd.DataFrame, contract: DataContract) -> str:
    """What is wrong with ``output`` as answers (empty when nothing is)."""
    if contract.target.classes is not None:
        unknown = set(output["prediction"].astype(str)) - set(contract.target.classes)
        confidence = pd.to_numeric(output["confidence"])
        if unknown:
            return f"predicted unknown classes {sorted(unknown)}"
        if not confidence.between(0, 1).all():
            return "confidence outside [0, 1]"
        return ""
    values = pd.to_numeric(output["prediction"])
    return "" if np.isfinite(values).all() else "non-finite predictions"


def behaviour(
    model: Predictor,
    train: pd.DataFrame,
    contract: DataContract,
    checks: tuple[BehaviourCheck, ...],
) -> list[CheckResult]:
    """The contract's boundaries (every answer valid) and the configured behaviour checks."""
    base = typical_values(train, contract)
    results: list[CheckResult] = []
    try:
        problem = _valid_answers(model.predict(boundary_records(base, contract)), contract)
    except Exception as error:
        problem = f"{type(error).__name__}: {error}"
    results.append(CheckResult("answers at every boundary of the contract", not problem, problem))
    for check in checks:
        record = cast_features(pd.DataFrame.from_records([{**base, **check.record}]), contract)
        answer = model.predict(record)["prediction"].iloc[0]
        if check.expect is not None:
            passed = str(answer) == check.expect
            expected = check.expect
        else:
            low, high = check.expect_between or (-math.inf, math.inf)
            passed = low <= float(answer) <= high
            expected = f"between {low:g} and {high:g}"
        results.append(CheckResult(check.name, passed, f"answered {answer}, expected {expected}"))
    return results


@dataclass(frozen=True)
class Decision:
    """Whether the candidate replaces the champion, and why."""

    promote: bool
    reason: str


def decide(
    candidate: dict[str, float],
    champion: dict[str, float],
    checks: list[CheckResult],
    config: TrainingConfig,
) -> Decision:
    """Promote only past the margin on the primary metric, and with every check passed."""
    metric = config.evaluation.primary_metric
    margin = config.evaluation.min_improvement
    gain = candidate[metric] - champion[metric]
    if metric in LOWER_IS_BETTER:
        gain = -gain
    verdict = f"{metric} {candidate[metric]:.4f} vs champion {champion[metric]:.4f}"
    failed = [check.name for check in checks if not check.passed]
    refusals = [f"fails behaviour checks: {', '.join(failed)}"] if failed else []
    if gain < margin:
        refusals.append(f"{verdict}: not better by the margin {margin:g} ({gain:+.4f})")
    if refusals:
        return Decision(False, "; ".join(refusals))
    return Decision(True, f"{verdict}: better by {gain:.4f} (margin {margin:g})")


@dataclass
class EvaluationReport:
    """Candidate against champion: metrics, checks, the decision; written per run."""

    candidate_version: str
    champion_version: str
    primary_metric: str
    candidate: dict[str, float]
    champion: dict[str, float]
    candidate_checks: list[CheckResult]
    champion_checks: list[CheckResult]
    decision: Decision
    data: dict[str, Any] = field(default_factory=dict)
    positive_class: str | None = None
    """Binary targets: the class F1 and ROC AUC score."""

    def markdown(self) -> str:
        """The report for people."""
        rows = "\n".join(
            f"| {name} | {self.candidate[name]:.4f} | {self.champion[name]:.4f} |"
            for name in self.candidate
        )
        checks = "\n".join(
            f"- {'PASS' if c.passed else 'FAIL'} {c.name}: {c.detail or 'ok'}"
            for c in self.candidate_checks
        )
        verdict = "promoted" if self.decision.promote else "refused"
        header = (
            f"| metric | candidate v{self.candidate_version} | champion v{self.champion_version} |"
        )
        scored = self.positive_class
        positive = f"Positive class (F1, ROC AUC): {scored}\n\n" if scored else ""
        return (
            f"# Candidate version {self.candidate_version}: {verdict}\n\n"
            f"{self.decision.reason}\n\n{positive}{header}\n"
            f"|---|---|---|\n{rows}\n\n## Behaviour checks (candidate)\n\n{checks}\n\n"
            f"## Data\n\n```json\n{json.dumps(self.data, indent=2, default=str)}\n```\n"
        )

    def write(self, folder: Path) -> dict[str, Path]:
        """``evaluation.json`` and ``evaluation.md`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / "evaluation.json", "md": folder / "evaluation.md"}
        paths["json"].write_text(json.dumps(asdict(self), indent=2, default=str), "utf-8")
        paths["md"].write_text(self.markdown(), "utf-8")
        return paths


def plot(output: pd.DataFrame, truth: pd.Series, contract: DataContract, path: Path) -> Path:
    """A confusion matrix (classification) or a residual plot (regression) as PNG."""
    import matplotlib as mpl  # noqa: PLC0415 - only when a report is drawn

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(5, 4))
    if contract.target.classes is None:
        predicted = pd.to_numeric(output["prediction"])
        axes.scatter(predicted, pd.to_numeric(truth).to_numpy() - predicted.to_numpy(), s=6)
        axes.axhline(0, color="grey")
        axes.set(xlabel="prediction", ylabel="residual (truth - prediction)")
    else:
        sk.ConfusionMatrixDisplay.from_predictions(
            truth.astype(str), output["prediction"].astype(str), ax=axes, colorbar=False
        )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
