"""The rule-based baseline: readable rules in ``contract/baseline.yaml``, fitted to the contract.

Rules are tried in order; the first whose conditions all hold answers. Rows no rule matches get
the fallback: the most likely class with its prior as confidence, or a constant for regression.
A missing value never satisfies a condition.
"""

from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import yaml
from pydantic import ConfigDict, Field, model_validator

from ..contract.data_contract import DataContract, FeatureType, ProblemType
from ..core.errors import UserError
from ..core.yaml_files import StrictModel, load_model

FALLBACK_RULE = "fallback"


class BaselineError(UserError):
    """The baseline file is missing, malformed or does not fit the contract."""


class _Strict(StrictModel):
    model_config = ConfigDict(populate_by_name=True)


class Condition(_Strict):
    """What one feature must satisfy: a set of values, a range, or both."""

    one_of: tuple[str | bool | float, ...] | None = Field(default=None, alias="in")
    minimum: float | None = Field(default=None, alias="min")
    maximum: float | None = Field(default=None, alias="max")

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.one_of is None and self.minimum is None and self.maximum is None:
            raise ValueError("a condition needs `in`, `min` or `max`")
        return self

    def holds(self, column: pd.Series) -> pd.Series:
        """Rows of ``column`` that satisfy the condition (missing values never do)."""
        mask = column.notna()
        if self.one_of is not None:
            mask &= column.isin(list(self.one_of))
        if self.minimum is not None:
            mask &= column.astype("float64") >= self.minimum
        if self.maximum is not None:
            mask &= column.astype("float64") <= self.maximum
        return mask.fillna(False).astype(bool)


class Rule(_Strict):
    """If every condition holds, predict this."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    when: dict[str, Condition] = Field(min_length=1)
    predict: str | float
    confidence: float | None = Field(default=None, ge=0, le=1)


class Fallback(_Strict):
    """What answers when no rule matches."""

    class_priors: dict[str, float] | None = None
    value: float | None = None


class BaselineRules(_Strict):
    """Ordered rules and a fallback."""

    rules: tuple[Rule, ...] = ()
    fallback: Fallback

    @classmethod
    def load(cls, path: Path, contract: DataContract) -> "BaselineRules":
        """Read the baseline file and check it against the contract."""
        rules = load_model(
            cls,
            path,
            what="baseline",
            missing_hint="`contract infer` writes a default one; or set APP_BASELINE_PATH.",
            error=BaselineError,
        )
        mismatches = rules.problems(contract)
        if mismatches:
            listed = "\n".join(f"  - {problem}" for problem in mismatches)
            raise BaselineError(f"{path} does not fit the contract {contract.name}:\n{listed}")
        return rules

    def problems(self, contract: DataContract) -> list[str]:
        """Every way the rules disagree with the contract (empty when they fit)."""
        found = [problem for rule in self.rules for problem in _rule_problems(rule, contract)]
        classes = contract.target.classes
        priors = self.fallback.class_priors
        if classes is not None:
            if priors is None or set(priors) != set(classes):
                found.append(f"fallback: class_priors must give each class of {list(classes)}")
            elif abs(sum(priors.values()) - 1) > 0.01:  # noqa: PLR2004
                found.append("fallback: class_priors must add up to 1")
        elif self.fallback.value is None:
            found.append("fallback: a regression baseline needs a `value`")
        return found

    def predict(self, frame: pd.DataFrame, problem_type: ProblemType) -> pd.DataFrame:
        """Prediction, confidence (NaN for regression) and the rule that answered, per row."""
        n_rows = len(frame)
        prediction = np.empty(n_rows, dtype=object)
        confidence = np.full(n_rows, np.nan)
        rule_names = np.full(n_rows, FALLBACK_RULE, dtype=object)
        open_rows = np.ones(n_rows, dtype=bool)
        for rule in self.rules:
            mask = open_rows.copy()
            for name, condition in rule.when.items():
                mask &= condition.holds(frame[name]).to_numpy()
            prediction[mask] = rule.predict
            confidence[mask] = np.nan if rule.confidence is None else rule.confidence
            rule_names[mask] = rule.name
            open_rows &= ~mask
        if self.fallback.class_priors:
            label, prior = max(self.fallback.class_priors.items(), key=lambda item: item[1])
            prediction[open_rows], confidence[open_rows] = label, prior
        else:
            prediction[open_rows] = self.fallback.value
        if problem_type is ProblemType.REGRESSION:
            prediction = prediction.astype("float64")
        else:
            prediction = prediction.astype(str)
        return pd.DataFrame(
            {"prediction": prediction, "confidence": confidence, "rule": rule_names.astype(str)},
            index=frame.index,
        )


def _rule_problems(rule: Rule, contract: DataContract) -> list[str]:
    found = []
    for name, condition in rule.when.items():
        if name not in contract.feature_names:
            found.append(f"rule '{rule.name}': '{name}' is not a feature")
            continue
        feature = contract.feature(name)
        if feature.values and condition.one_of is not None:
            unknown = set(map(str, condition.one_of)) - set(feature.values)
            if unknown:
                found.append(f"rule '{rule.name}': {name} has no value {sorted(unknown)}")
        if feature.type is FeatureType.CATEGORY and condition.minimum is not None:
            found.append(f"rule '{rule.name}': {name} is a category; use `in`")
    classes = contract.target.classes
    if classes is not None:
        if str(rule.predict) not in classes:
            found.append(f"rule '{rule.name}': '{rule.predict}' is not a class {list(classes)}")
        if rule.confidence is None:
            found.append(f"rule '{rule.name}': a classification rule needs a confidence")
    elif isinstance(rule.predict, str):
        found.append(f"rule '{rule.name}': regression rules predict a number")
    return found


def default_baseline(target: pd.Series, contract: DataContract) -> BaselineRules:
    """A baseline with no rules: class priors, or the median, of the observed target."""
    if contract.target.classes is None:
        return BaselineRules(fallback=Fallback(value=round(float(target.median()), 4)))
    shares = target.astype(str).value_counts(normalize=True)
    priors = {label: round(float(shares.get(label, 0.0)), 4) for label in contract.target.classes}
    return BaselineRules(fallback=Fallback(class_priors=priors))


def save_baseline(rules: BaselineRules, path: Path) -> None:
    """Write the baseline as commented YAML a person can extend."""
    document = rules.model_dump(mode="json", by_alias=True, exclude_none=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Baseline rules: tried in order; the first whose conditions all hold answers.\n"
        "# A condition is `in: [values]`, `min: n` and/or `max: n` on a feature of the contract.\n"
        "# Example rule:\n"
        "#   - name: my_rule\n"
        "#     when: {some_feature: {min: 3}}\n"
        "#     predict: <a class, or a number for regression>\n"
        "#     confidence: 0.8   # classification only\n"
    )
    path.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
