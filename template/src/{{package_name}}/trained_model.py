"""A trained pipeline as an MLflow pyfunc model: same input and output as the baseline."""

from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from .contract import DataContract
from .training import predict_frame


class TrainedModel(PythonModel):  # type: ignore[misc] # mlflow is not type-checked
    """Answers with the scikit-learn pipeline logged as its artifact."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the pipeline and the contract logged with it."""
        self._contract = DataContract.load(Path(context.artifacts["contract"]))
        self._pipeline = joblib.load(context.artifacts["pipeline"])

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Prediction, confidence and ``rule`` = ``model``, per row."""
        features = model_input[self._contract.feature_names]
        return predict_frame(self._pipeline, features, self._contract.target.classes is not None)
