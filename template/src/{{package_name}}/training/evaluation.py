"""Evaluation of a candidate against the champion on the same data, and the promotion decision.

Both models are called through the registry's pyfunc interface, so what is evaluated is exactly
what would be served.
"""

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from ..config.training import LOWER_IS_BETTER, METRICS, BehaviourCheck, TrainingConfig
from ..contract.data_contract import DataContract, FeatureType
from ..contract.schemas import cast_features
from ..models.explanations import typical_values
from ..models.registry import Predictor


def _positive_probability(output: pd.DataFrame, positive: str) -> np.ndarray:
    confidence = pd.to_numeric(output["confidence"], errors="coerce").fillna(0.5).to_numpy()
    return np.where(output["prediction"].astype(str) == positive, confidence, 1 - confidence)


RowMetric = Callable[[np.ndarray], float]
"""A metric of one model's answers on some of the held-out rows, given by their positions."""


def metric_on_rows(
    metric: str, output: pd.DataFrame, truth: pd.Series, contract: DataContract
) -> RowMetric:
    """``metric`` of ``output`` against ``truth``, for any subset of the rows.

    NaN where the metric is undefined on the subset (ROC AUC on rows of one class).
    """
    if contract.target.classes is None:
        return _regression_metric(metric, output, truth)
    return _classification_metric(metric, output, truth, contract)


def _regression_metric(metric: str, output: pd.DataFrame, truth: pd.Series) -> RowMetric:
    predicted = pd.to_numeric(output["prediction"]).to_numpy(dtype="float64")
    actual = pd.to_numeric(truth).to_numpy(dtype="float64")
    if metric == "mae":
        return lambda rows: float(np.mean(np.abs(predicted[rows] - actual[rows])))
    if metric == "rmse":
        return lambda rows: float(np.sqrt(np.mean((predicted[rows] - actual[rows]) ** 2)))

    def r2(rows: np.ndarray) -> float:
        spread = float(np.sum((actual[rows] - actual[rows].mean()) ** 2))
        error = float(np.sum((predicted[rows] - actual[rows]) ** 2))
        return math.nan if spread == 0 else 1 - error / spread

    return r2


def _classification_metric(
    metric: str, output: pd.DataFrame, truth: pd.Series, contract: DataContract
) -> RowMetric:
    labels = output["prediction"].astype(str).to_numpy()
    actual = truth.astype(str).to_numpy()
    if metric == "accuracy":
        right = labels == actual
        return lambda rows: float(right[rows].mean())
    classes = list(contract.target.classes or ())
    if metric == "f1_macro":
        return lambda rows: float(np.mean([_f1(actual[rows], labels[rows], c) for c in classes]))
    positive = contract.target.positive or classes[1]
    if metric == "f1":
        return lambda rows: _f1(actual[rows], labels[rows], positive)
    is_positive = actual == positive
    probability = _positive_probability(output, positive)
    return lambda rows: _roc_auc(is_positive[rows], probability[rows])


def _f1(actual: np.ndarray, labels: np.ndarray, kind: str) -> float:
    """F1 of class ``kind``; 0 where it is neither predicted nor true (scikit-learn's 0/0)."""
    hits = int(np.sum((labels == kind) & (actual == kind)))
    either = int(np.sum(labels == kind) + np.sum(actual == kind))
    return 0.0 if either == 0 else 2 * hits / either


def _roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the rank statistic (ties count half), as scikit-learn's; NaN for one class."""
    positives = int(positive.sum())
    negatives = len(positive) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    _, where, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[where]  # 1-based, ties averaged
    above = float(ranks[positive].sum()) - positives * (positives + 1) / 2
    return above / (positives * negatives)


def score_metrics(
    output: pd.DataFrame, truth: pd.Series, contract: DataContract
) -> dict[str, float]:
    """Every metric of the problem type, for predictions ``output`` against ``truth``."""
    if len(truth) == 0:
        raise ValueError("no labelled rows to evaluate")
    every_row = np.arange(len(truth))
    return {
        name: metric_on_rows(name, output, truth, contract)(every_row)
        for name in METRICS[contract.problem_type]
    }


@dataclass(frozen=True)
class GainInterval:
    """The candidate's gain on the primary metric, with its paired bootstrap interval.

    Positive is better, in the metric's own units (for MAE: how much smaller the error is).
    """

    metric: str
    gain: float
    low: float
    high: float
    confidence: float
    rows: int
    resamples: int

    def describe(self) -> str:
        """``+0.0420 [+0.0210, +0.0630] at 95%``."""
        return f"{self.gain:+.4f} [{self.low:+.4f}, {self.high:+.4f}] at {self.confidence:.0%}"


def paired_gain(
    candidate: pd.DataFrame,
    champion: pd.DataFrame,
    truth: pd.Series,
    contract: DataContract,
    config: TrainingConfig,
    *,
    seed: int = 0,
) -> GainInterval:
    """The candidate's gain over the champion on the same rows, with its bootstrap interval.

    Each resample draws rows with replacement and scores both models on the same draw (a
    paired comparison: the rows' difficulty cancels out). The interval is the resamples'
    percentiles; the seed makes a rerun give the same interval.
    """
    evaluation = config.evaluation
    metric = evaluation.primary_metric
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    of_candidate = metric_on_rows(metric, candidate, truth, contract)
    of_champion = metric_on_rows(metric, champion, truth, contract)
    rows = len(truth)
    every_row = np.arange(rows)
    gain = sign * (of_candidate(every_row) - of_champion(every_row))
    random = np.random.default_rng(seed)
    resamples = evaluation.bootstrap_resamples
    gains = np.empty(resamples)
    for index in range(resamples):  # one draw at a time: memory stays that of one draw
        draw = random.integers(0, rows, size=rows)
        gains[index] = sign * (of_candidate(draw) - of_champion(draw))
    gains = gains[np.isfinite(gains)]
    if len(gains) < resamples / 2:  # e.g. ROC AUC on rows of one class
        return GainInterval(metric, gain, -math.inf, math.inf, evaluation.confidence, rows, 0)
    tail = (1 - evaluation.confidence) / 2
    low, high = np.quantile(gains, [tail, 1 - tail])
    return GainInterval(
        metric, gain, float(low), float(high), evaluation.confidence, rows, len(gains)
    )


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
    """Whether the candidate replaces the champion, and why.

    ``undecided``: the gate could not tell (too few rows, or an interval across the margin).
    """

    promote: bool
    reason: str
    undecided: bool = False


def decide(interval: GainInterval, checks: list[CheckResult], config: TrainingConfig) -> Decision:
    """Promote only if every check passed and the whole interval of the gain clears the margin.

    Refuse if a check failed or the interval lies below the margin; too few rows, or an
    interval across the margin, cannot decide (refused, marked ``undecided``).
    """
    evaluation = config.evaluation
    margin = evaluation.min_improvement
    failed = [check.name for check in checks if not check.passed]
    refusals = [f"fails behaviour checks: {', '.join(failed)}"] if failed else []
    gain = f"{interval.metric} gain {interval.describe()} over {interval.rows} held-out rows"
    undecided = False
    if interval.rows < evaluation.min_holdout_rows:
        undecided = True
        refusals.append(
            f"too small to decide: {interval.rows} labelled held-out rows, the gate needs "
            f"{evaluation.min_holdout_rows} (evaluation.min_holdout_rows); bring more labelled "
            "rows, or raise evaluation.holdout_share"
        )
    elif interval.high < margin:
        refusals.append(f"{gain}: not better by the margin {margin:g}")
    elif interval.low < margin:
        undecided = True
        refusals.append(
            f"{gain}: cannot tell at {interval.confidence:.0%} whether it is better by the "
            f"margin {margin:g} (the interval spans it); more held-out rows narrow it"
        )
    if refusals:
        return Decision(False, "; ".join(refusals), undecided=undecided and not failed)
    return Decision(True, f"{gain}: better by the margin {margin:g} at {interval.confidence:.0%}")


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
    interval: GainInterval
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
        gate = self.interval
        interval = (
            f"Gain on {gate.metric} (candidate minus champion, positive is better): "
            f"{gate.describe()}, from {gate.resamples} paired bootstrap resamples of "
            f"{gate.rows} held-out rows.\n\n"
        )
        return (
            f"# Candidate version {self.candidate_version}: {verdict}\n\n"
            f"{self.decision.reason}\n\n{interval}{positive}{header}\n"
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
