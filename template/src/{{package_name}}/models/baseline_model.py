"""The baseline as an MLflow pyfunc model: its rules and contract travel with it as artifacts."""

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from ..contract.data_contract import DataContract, ProblemType
from .baseline import BaselineRules


class BaselineModel(PythonModel):  # type: ignore[misc] # mlflow is not type-checked
    """Answers from the rules file that was logged with it."""

    def load_context(self, context: PythonModelContext) -> None:
        """Read the contract and rules logged as this model's artifacts."""
        contract = DataContract.load(Path(context.artifacts["contract"]))
        self._rules = BaselineRules.load(Path(context.artifacts["rules"]), contract)
        self._problem_type = contract.problem_type

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Prediction, confidence and the rule that answered, per row."""
        return self._rules.predict(model_input, self._problem_type)


class ConfigBaseline:
    """The same baseline straight from the files, for when the registry cannot be reached."""

    def __init__(self, rules: BaselineRules, problem_type: ProblemType) -> None:
        self._rules = rules
        self._problem_type = problem_type

    def predict(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """Prediction, confidence and the rule that answered, per row."""
        return self._rules.predict(model_input, self._problem_type)
