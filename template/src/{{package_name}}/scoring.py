"""Scoring shared by the service and batch prediction: model output plus the review flag."""

from typing import TYPE_CHECKING

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
