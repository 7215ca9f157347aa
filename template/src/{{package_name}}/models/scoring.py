"""Scoring shared by the service and batch prediction: model output plus the review flag."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .registry import LoadedModel


def score(model: "LoadedModel", frame: pd.DataFrame, review_threshold: float) -> pd.DataFrame:
    """Prediction, confidence, needs_review and the explanation for each row of ``frame``.

    ``needs_review`` is true when a confidence exists and is below ``review_threshold``.
    """
    output = model.predictor.predict(frame)
    confidence = pd.to_numeric(output["confidence"], errors="coerce").to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "prediction": output["prediction"].to_numpy(),
            "confidence": confidence,
            "needs_review": np.nan_to_num(confidence, nan=1.0) < review_threshold,
            "explanation": output.get("rule", pd.Series("", index=output.index)).to_numpy(),
        },
        index=frame.index,
    )


@dataclass(frozen=True)
class Scores:
    """Scores of records as plain lists, in record order: what answers and the log are made of."""

    prediction: list[Any]
    confidence: list[float | None]  # None for regression
    needs_review: list[bool]
    explanation: list[str]

    @classmethod
    def of(cls, scored: pd.DataFrame) -> "Scores":
        """From the frame :func:`score` returns."""
        confidence = scored["confidence"].to_numpy()
        return cls(
            prediction=scored["prediction"].tolist(),
            confidence=[None if math.isnan(value) else value for value in confidence.tolist()],
            needs_review=scored["needs_review"].tolist(),
            explanation=scored["explanation"].tolist(),
        )

    def part(self, start: int, stop: int) -> "Scores":
        """The scores of records ``start`` to ``stop`` (excluded)."""
        return Scores(
            self.prediction[start:stop],
            self.confidence[start:stop],
            self.needs_review[start:stop],
            self.explanation[start:stop],
        )


def quality_metric(regression: bool) -> str:
    """The name of :func:`answer_quality`'s measure: live, in shadow comparisons, in reports."""
    return "mean_absolute_error" if regression else "accuracy"


def answer_quality(pairs: Iterable[tuple[Any, Any]], regression: bool) -> float | None:
    """Accuracy or mean absolute error of (answer, truth) pairs; None without pairs.

    Classes are compared as text.
    """
    listed = list(pairs)
    if not listed:
        return None
    if regression:
        return float(np.mean([abs(float(answer) - float(truth)) for answer, truth in listed]))
    return float(np.mean([str(answer) == str(truth) for answer, truth in listed]))
