"""Baseline rules learned from data: a shallow decision tree read back as ordered, readable rules.

``contract infer`` writes them to ``contract/baseline.yaml``; a domain expert edits them from
there. The tree is kept only if it beats the fallback (class priors, or the median) on a held-out
quarter of the data; otherwise the baseline is the fallback alone.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ..config.training import BehaviourCheck
from ..contract.data_contract import DataContract, FeatureType, ProblemType
from ..contract.schemas import cast_features
from .baseline import BaselineRules, Condition, Rule, default_baseline

MAX_DEPTH = 2
"""At most this many conditions per rule, and 2**MAX_DEPTH rules."""

HELD_OUT = 0.25

MAX_ROWS = 200_000
"""Rules are learned from a random sample of at most this many labelled rows."""


@dataclass(frozen=True)
class Region:
    """The rows one rule answers for, as seen in the training data."""

    rule: Rule
    rows: int
    spread: tuple[float, float] | None
    """Regression: 10th and 90th percentile of the target in the region."""
    typical: dict[str, str | bool | float]
    """The region's typical member: median (numbers) or most common value of each feature."""


@dataclass(frozen=True)
class _Column:
    feature: str
    value: str | None  # one-hot column of a category value; None for numbers and booleans
    boolean: bool


def learn_baseline(
    frame: pd.DataFrame, contract: DataContract
) -> tuple[BaselineRules, list[Region]]:
    """Rules from a shallow tree if they beat the fallback on held-out rows, and their regions."""
    target = contract.target.name
    labelled = frame[frame[target].notna()]
    if len(labelled) > MAX_ROWS:  # rules of a depth-2 tree settle long before this
        labelled = labelled.sample(MAX_ROWS, random_state=0)
    fallback_only = default_baseline(labelled[target], contract)
    features = [f for f in contract.features if f.type is not FeatureType.DATETIME]
    if len(labelled) < 40 or not features:  # noqa: PLR2004 - too few rows to learn and check
        return fallback_only, []
    shuffled = labelled.sample(frac=1.0, random_state=0)
    cut = int(len(shuffled) * (1 - HELD_OUT))
    learn, held_out = shuffled.iloc[:cut], shuffled.iloc[cut:]
    matrix, columns = _encode(cast_features(learn, contract), contract, [f.name for f in features])
    classification = contract.target.classes is not None
    leaf = max(10, len(learn) // 50)
    tree = (
        DecisionTreeClassifier(max_depth=MAX_DEPTH, min_samples_leaf=leaf, random_state=0)
        if classification
        else DecisionTreeRegressor(max_depth=MAX_DEPTH, min_samples_leaf=leaf, random_state=0)
    )
    answers = learn[target].astype(str) if classification else pd.to_numeric(learn[target])
    tree.fit(matrix, answers)
    if tree.tree_.node_count == 1:
        return fallback_only, []
    regions = _regions(tree, (matrix, cast_features(learn, contract)), columns, contract, answers)
    rules = BaselineRules(rules=tuple(r.rule for r in regions), fallback=fallback_only.fallback)
    if _error(rules, held_out, contract) >= _error(fallback_only, held_out, contract):
        return fallback_only, []
    return rules, regions


def _encode(
    frame: pd.DataFrame, contract: DataContract, names: list[str]
) -> tuple[np.ndarray, list[_Column]]:
    blocks: list[np.ndarray] = []
    columns: list[_Column] = []
    for name in names:
        feature = contract.feature(name)
        values = frame[name]
        if feature.type is FeatureType.CATEGORY:
            for value in feature.values or ():
                blocks.append((values == value).to_numpy(dtype="float64"))
                columns.append(_Column(name, value, boolean=False))
        elif feature.type is FeatureType.BOOLEAN:
            blocks.append(pd.to_numeric(values.map({True: 1.0, False: 0.0})).to_numpy("float64"))
            columns.append(_Column(name, None, boolean=True))
        else:
            blocks.append(values.to_numpy(dtype="float64"))
            columns.append(_Column(name, None, boolean=False))
    return np.column_stack(blocks), columns


def _regions(
    tree: DecisionTreeClassifier | DecisionTreeRegressor,
    rows: tuple[np.ndarray, pd.DataFrame],
    columns: list[_Column],
    contract: DataContract,
    answers: pd.Series,
) -> list[Region]:
    """One rule per leaf, left branches first (so ``<=`` sides come before ``>`` sides)."""
    structure = tree.tree_
    matrix, cast = rows
    leaf_of_row = tree.apply(matrix)
    regions: list[Region] = []

    def walk(node: int, path: list[tuple[_Column, bool, float]]) -> None:
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # a leaf
            in_leaf = answers[leaf_of_row == node]
            rule = _rule(f"rule_{len(regions) + 1}", path, in_leaf, contract)
            spread = None
            if contract.target.classes is None:
                low, high = np.percentile(in_leaf.to_numpy("float64"), [10, 90])
                spread = (float(low), float(high))
            members = cast[leaf_of_row == node]
            typical = {
                f.name: _typical(members[f.name])
                for f in contract.features
                if f.type is not FeatureType.DATETIME and members[f.name].notna().any()
            }
            regions.append(Region(rule=rule, rows=len(in_leaf), spread=spread, typical=typical))
            return
        column = columns[structure.feature[node]]
        threshold = float(structure.threshold[node])
        walk(left, [*path, (column, False, threshold)])
        walk(right, [*path, (column, True, threshold)])

    walk(0, [])
    return regions


def _typical(values: pd.Series) -> str | bool | float:
    present = values.dropna()
    if pd.api.types.is_float_dtype(present):
        return float(f"{present.median():.4g}")
    top = present.mode().iloc[0]
    return bool(top) if isinstance(top, bool | np.bool_) else str(top)


def _rule(
    name: str, path: list[tuple[_Column, bool, float]], answers: pd.Series, contract: DataContract
) -> Rule:
    """The conditions on the way to a leaf, merged per feature, and the leaf's answer."""
    bounds: dict[str, dict[str, float]] = {}
    chosen: dict[str, set[str | bool]] = {}
    excluded: dict[str, set[str]] = {}
    for column, above, threshold in path:
        if column.value is not None:  # one-hot: equals the value (above) or not
            if above:
                chosen[column.feature] = {column.value}
            else:
                excluded.setdefault(column.feature, set()).add(column.value)
        elif column.boolean:
            chosen[column.feature] = {above}
        else:
            side = bounds.setdefault(column.feature, {})
            low, high = _limits(threshold, contract.feature(column.feature).type)
            if above:
                side["min"] = max(side.get("min", low), low)
            else:
                side["max"] = min(side.get("max", high), high)
    for feature, left_out in excluded.items():
        if feature not in chosen:
            kept = [v for v in contract.feature(feature).values or () if v not in left_out]
            chosen[feature] = set(kept)
    when: dict[str, Condition] = {}
    for feature in dict.fromkeys([column.feature for column, _, _ in path]):
        values = chosen.get(feature)
        order = contract.feature(feature).values or (False, True)
        when[feature] = Condition.model_validate(
            {
                **({"in": [v for v in order if v in values]} if values is not None else {}),
                **bounds.get(feature, {}),
            }
        )
    if contract.target.classes is None:
        return Rule(name=name, when=when, predict=float(f"{answers.mean():.4g}"))
    shares = answers.value_counts(normalize=True)
    return Rule(
        name=name,
        when=when,
        predict=str(shares.index[0]),
        confidence=round(float(shares.iloc[0]), 2),
    )


def _limits(threshold: float, kind: FeatureType) -> tuple[float, float]:
    """A split ``x <= threshold`` as readable bounds: (min of the side above, max below).

    Whole numbers get whole bounds (``<= 5.5`` is ``max 5``, ``> 5.5`` is ``min 6``), others
    four significant digits.
    """
    if kind is FeatureType.INTEGER:
        below = float(math.floor(threshold))
        return below + 1, below
    rounded = float(f"{threshold:.4g}")
    return rounded, rounded


def _error(rules: BaselineRules, frame: pd.DataFrame, contract: DataContract) -> float:
    """Share of wrong answers (classification) or mean absolute error (regression)."""
    answered = rules.predict(cast_features(frame, contract), contract.problem_type)["prediction"]
    truth = frame[contract.target.name]
    if contract.problem_type is ProblemType.REGRESSION:
        return float(np.mean(np.abs(answered.to_numpy("float64") - truth.to_numpy("float64"))))
    return float(np.mean(answered.to_numpy() != truth.astype(str).to_numpy()))


def behaviour_checks(regions: list[Region], contract: DataContract) -> list[BehaviourCheck]:
    """Up to two clear cases from the learned regions, for ``config/training.yaml``.

    Classification: the largest regions answered with at least 95% agreement, one per class.
    Regression: the regions with the lowest and highest answers, each with the middle 80% of
    its targets widened by a tenth of the range between them.
    """
    large = [region for region in regions if region.rows >= 20]  # noqa: PLR2004
    checks: list[BehaviourCheck] = []
    if contract.target.classes is not None:
        seen: set[str] = set()
        for region in sorted(large, key=lambda r: -r.rows):
            label = str(region.rule.predict)
            if (region.rule.confidence or 0) >= CLEAR and label not in seen and len(checks) < 2:  # noqa: PLR2004
                seen.add(label)
                checks.append(
                    BehaviourCheck(
                        name=f"clear_case_{_slug(label)}",
                        record=_record(region, contract),
                        expect=label,
                    )
                )
        return checks
    spread = [region for region in large if region.spread is not None]
    if len(spread) < 2:  # noqa: PLR2004
        return checks
    low, high = min(spread, key=_answer), max(spread, key=_answer)
    if low is high:
        return checks
    slack = (_answer(high) - _answer(low)) / 10
    for region, side in ((low, "low"), (high, "high")):
        bottom, top = region.spread or (0.0, 0.0)
        checks.append(
            BehaviourCheck(
                name=f"clear_case_{side}",
                record=_record(region, contract),
                expect_between=(float(f"{bottom - slack:.4g}"), float(f"{top + slack:.4g}")),
            )
        )
    return checks


CLEAR = 0.95


def _answer(region: Region) -> float:
    return float(region.rule.predict)


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_") or "class"


def _record(region: Region, contract: DataContract) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, value in region.typical.items():
        integer = contract.feature(name).type is FeatureType.INTEGER
        record[name] = round(value) if integer and isinstance(value, float) else value
    return record
