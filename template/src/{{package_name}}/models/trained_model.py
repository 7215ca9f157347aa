"""A trained pipeline as an MLflow pyfunc model: same input and output as the baseline.

Called with ``params={"explain": True}`` (``APP_EXPLAIN_PREDICTIONS``), its ``rule`` column names
the features that moved each answer most (see ``explanations``), for versions trained with the
typical values that needs.
"""

import json
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from ..contract.data_contract import DataContract
from .explanations import explain
from .pipeline import predict_frame


class TrainedModel(PythonModel):  # type: ignore[misc] # mlflow is not type-checked
    """Answers with the scikit-learn pipeline logged as its artifact."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the pipeline and the contract logged with it."""
        self._contract = DataContract.load(Path(context.artifacts["contract"]))
        self._pipeline = joblib.load(context.artifacts["pipeline"])
        typical = context.artifacts.get("typical_values")
        self._typical = json.loads(Path(typical).read_text("utf-8")) if typical else None

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Prediction, confidence and ``rule`` (``model``, or why with ``explain``), per row."""
        features = model_input[self._contract.feature_names]
        output = predict_frame(self._pipeline, features, self._contract.target.classes is not None)
        if params and params.get("explain") and self._typical is not None:
            output["rule"] = explain(self._pipeline, features, self._typical, output)
        return output
