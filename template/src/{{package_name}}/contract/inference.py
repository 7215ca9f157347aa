"""Write a first data contract from a team's own data file (``contract infer``).

Types are read as a careful data engineer would: integers with missing values stay integers,
numbers written with decimals stay numbers, ``yes/no`` and ``Y/N`` columns are booleans
(numbers that are only 0 and 1 stay integers: another count tomorrow is flagged, not refused),
codes written with leading zeros are categories, ISO dates are date-times. Ranges and categories are
*observed* limits with a margin, so new data of the same population passes; a column of more
than 50 values (regions, airports, product codes) is a category of its most frequent values with
*open* limits. Every column infer
could not use is reported in one run, with what was done and how to change it.
"""

import math
from dataclasses import dataclass

import pandas as pd
from pandas.api import types as ptypes

from ..core.errors import UserError
from .data_contract import (
    OTHER,
    DataContract,
    Feature,
    FeatureType,
    Limits,
    ProblemType,
    Target,
    key_for,
)
from .schemas import BOOLEAN_WORDS

MAX_CATEGORIES = 50
"""A category lists at most this many values: past it, its most frequent ones (open limits)."""

MIN_ROWS_PER_VALUE = 10
"""Rows a value of a many-valued column needs to be listed: fewer, and no model learns from it."""

MAX_CLASSES = 20
"""An integer target with at most this many distinct values is read as class labels."""

MARGIN = 0.1
"""Observed ranges are widened by this share of their span on each side."""

DATE_TIME = (
    r"^(?:1[6-9]|2[0-2])\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
"""ISO 8601 dates and date-times (years 1600 to 2299), the only text read as a date-time."""


class InferenceError(UserError):
    """The data cannot be described by a contract as it stands."""


@dataclass(frozen=True)
class Decision:
    """What infer did with a column it could not take as it is, and how to change it."""

    column: str
    decision: str
    change: str

    def describe(self) -> str:
        """One line for people."""
        return f"'{self.column}': {self.decision}. {self.change}"


@dataclass(frozen=True)
class Inference:
    """A contract and the decisions behind it."""

    contract: DataContract
    decisions: list[Decision]


def infer_contract(
    frame: pd.DataFrame,
    *,
    name: str,
    target: str,
    id_column: str | None = None,
    exclude: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    problem_type: ProblemType | None = None,
    written: pd.DataFrame | None = None,
) -> Inference:
    """Describe ``frame`` as a contract: observed ranges, categories and missing values.

    Args:
        frame: The data, with the target column.
        name: Name of the contract (the data set's name).
        target: Column the model predicts.
        id_column: Column that identifies a row, if any; it is not a feature. Without one, a
            text column with a distinct value on every row is taken as the id.
        exclude: Columns to leave out of the contract.
        categories: Columns to read as categories whatever they hold (numeric codes).
        problem_type: Force classification or regression instead of guessing from the target.
        written: The same data as text, exactly as written (CSV): tells ``7`` from ``7.0`` and
            keeps leading zeros. Without it (Parquet, databases) the file's own types decide.
    """
    frame = frame.rename(columns=str)
    missing = [
        column
        for column in (target, id_column, *exclude, *categories)
        if column and column not in frame
    ]
    if missing:
        raise InferenceError(
            f"column(s) not in the data: {', '.join(missing)}; "
            f"the data has: {', '.join(map(str, frame.columns))}"
        )
    duplicated = sorted({str(c) for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise InferenceError(
            f"the data has more than one column called {', '.join(duplicated)}; rename one"
        )
    decisions: list[Decision] = []
    labelled = frame[frame[target].notna()]
    if len(labelled) < len(frame):
        decisions.append(
            Decision(
                target,
                f"{len(frame) - len(labelled)} row(s) have no target: training leaves them out",
                "Label them, or leave them as they are",
            )
        )
    if labelled.empty:
        raise InferenceError(f"target '{target}' has no values; choose another --target")
    if id_column is None:
        id_column = _proposed_id(frame, {target, *exclude, *categories}, decisions)
    skipped = {target, id_column, *exclude}
    features: list[Feature] = []
    for column in frame.columns:
        if column in skipped:
            continue
        if _unusable(column, frame[column], decisions):
            continue
        text = written[column] if written is not None and column in written else None
        feature = _infer_feature(column, frame[column], text, column in categories, decisions)
        if feature is not None:
            features.append(feature)
    if not features:
        raise InferenceError("no feature columns left once target, id and excluded columns are out")
    keys = {feature.name: key_for(feature.name) for feature in features}
    features = [
        feature
        if keys[feature.name] == feature.name
        else feature.model_copy(update={"key": keys[feature.name]})
        for feature in features
    ]
    contract = DataContract(
        name=name,
        description=f"Inferred from data with {len(frame)} rows; review ranges and categories.",
        id_column=id_column,
        target=_infer_target(target, labelled[target], problem_type, decisions),
        features=tuple(_distinct_keys(features)),
    )
    return Inference(contract=contract, decisions=decisions)


def _distinct_keys(features: list[Feature]) -> list[Feature]:
    """Number keys that collide once names are made identifiers (``a b`` and ``a-b``)."""
    seen: set[str] = set()
    result = []
    for feature in features:
        key = feature.key or feature.name
        candidate, number = key, 2
        while candidate in seen:
            candidate, number = f"{key}_{number}", number + 1
        seen.add(candidate)
        result.append(
            feature if candidate == key else feature.model_copy(update={"key": candidate})
        )
    return result


def _proposed_id(frame: pd.DataFrame, taken: set[str], decisions: list[Decision]) -> str | None:
    """The first column that identifies rows, proposed as the id column.

    Text with a distinct value on every row (an order reference), or a row number: whole
    numbers, distinct on every row, that fill most of their range (1 to n, or a sample of it).
    As a feature, a row number would teach the model the file's order.
    """
    for column in frame.columns:
        values = frame[column]
        if column in taken or ptypes.is_bool_dtype(values) or values.isna().any():
            continue
        if len(values) <= MAX_CATEGORIES or values.nunique() != len(values):
            continue
        if ptypes.is_integer_dtype(values):
            if int(values.max()) - int(values.min()) + 1 > 2 * len(values):
                continue
            what = "a row number (whole numbers, distinct on every row, filling their range)"
        elif (
            ptypes.is_numeric_dtype(values)
            or ptypes.is_datetime64_any_dtype(values)
            or values.astype(str).str.fullmatch(DATE_TIME).all()
        ):
            continue
        else:
            what = "a distinct text value on every row"
        decisions.append(
            Decision(
                column,
                f"{what}: taken as the id column",
                f"To use another, pass --id-column; to drop it, --exclude '{column}'",
            )
        )
        return str(column)
    return None


def _unusable(name: str, column: pd.Series, decisions: list[Decision]) -> bool:
    """Columns that tell rows nothing: empty, or the same value on every row (reported)."""
    present = column.dropna()
    if present.empty:
        decisions.append(
            Decision(name, "has no values: left out", "Fill it in your data to use it")
        )
        return True
    if present.nunique() == 1:
        decisions.append(
            Decision(
                name,
                f"the same value ({present.iloc[0]}) on every row: left out, it tells rows nothing",
                "Nothing to do; infer again once it varies",
            )
        )
        return True
    return False


def _infer_feature(
    name: str,
    column: pd.Series,
    written: pd.Series | None,
    as_category: bool,
    decisions: list[Decision],
) -> Feature | None:
    nullable = bool(column.isna().any())
    present = column.dropna()
    # Types are read from the distinct values as written: a million rows hold few of them.
    source = written if written is not None else column
    text = pd.Series(source.dropna().unique()).astype(str).str.strip()
    if as_category or _written_as_codes(text, present):
        return _category(name, text, source, nullable, decisions, explicit=as_category)
    if _numeric_flags(present):
        decisions.append(
            Decision(
                name,
                "numbers 0 and 1 only: an integer with observed limits, so another count "
                "tomorrow is answered (flagged beyond the limits), not refused",
                f"To refuse anything but 0 and 1, set limits: declared for '{name}' in the "
                "contract",
            )
        )
    elif ptypes.is_bool_dtype(present) or _holds_booleans(text):
        if not ptypes.is_bool_dtype(present):
            decisions.append(
                Decision(
                    name,
                    f"written as {'/'.join(sorted(set(text.str.lower())))}: a boolean",
                    f"To keep it as it is, pass --category '{name}'",
                )
            )
        return Feature(name=name, type=FeatureType.BOOLEAN, nullable=nullable)
    if ptypes.is_datetime64_any_dtype(present) or (
        not ptypes.is_numeric_dtype(present) and bool(text.str.fullmatch(DATE_TIME).all())
    ):
        decisions.append(
            Decision(
                name,
                "a date-time: validated as ISO 8601; training uses its year, month, day of "
                "week and hour, drift leaves it out",
                f"To leave it out, pass --exclude '{name}'",
            )
        )
        return Feature(name=name, type=FeatureType.DATETIME, nullable=nullable)
    if ptypes.is_numeric_dtype(present):
        whole = ptypes.is_integer_dtype(present) or (
            written is not None and bool(text.str.fullmatch(r"[-+]?\d+").all())
        )
        low, high = _observed_range(float(present.min()), float(present.max()), whole=whole)
        return Feature(
            name=name,
            type=FeatureType.INTEGER if whole else FeatureType.NUMBER,
            nullable=nullable,
            minimum=low,
            maximum=high,
            limits=Limits.OBSERVED,
        )
    return _category(name, text, source, nullable, decisions, explicit=False)


def _category(
    name: str,
    text: pd.Series,
    source: pd.Series,
    nullable: bool,
    decisions: list[Decision],
    *,
    explicit: bool,
) -> Feature | None:
    """A category of the distinct values ``text``; ``source`` holds every row's value."""
    values = sorted(text.unique())
    sentences = sum(" " in value and value[-1] in ".!?" for value in values)
    if not explicit and sentences * 2 > len(values):
        decisions.append(
            Decision(
                name,
                "free text (sentences): left out",
                "To use it, encode it in your data (a topic, a flag) and infer again",
            )
        )
        return None
    if len(values) > MAX_CATEGORIES:
        return _open_category(name, len(values), source, nullable, decisions)
    if not explicit and values and all(value.isdigit() for value in values):
        decisions.append(
            Decision(
                name,
                "a code written with leading zeros: a category",
                "To read it as a number, write it without leading zeros",
            )
        )
    return Feature(
        name=name,
        type=FeatureType.CATEGORY,
        nullable=nullable,
        values=tuple(values),
        limits=Limits.OBSERVED,
    )


def _open_category(
    name: str, distinct: int, source: pd.Series, nullable: bool, decisions: list[Decision]
) -> Feature | None:
    """The most frequent values of a many-valued column, or nothing if no value repeats enough.

    Regions, airports, product codes: a category of the ``MAX_CATEGORIES`` most frequent values
    seen on ``MIN_ROWS_PER_VALUE`` rows or more, with open limits (any other value is ordinary).
    Names, ids and free text repeat too rarely to be learned from: left out.
    """
    present = source.dropna().astype(str).str.strip()
    counts = present.value_counts()
    counts = counts[counts >= MIN_ROWS_PER_VALUE]
    frequent = sorted(counts.index, key=lambda value: (-counts[value], value))[:MAX_CATEGORIES]
    if len(frequent) < 2:  # noqa: PLR2004
        decisions.append(
            Decision(
                name,
                f"{distinct} distinct text values, none on {MIN_ROWS_PER_VALUE} rows or more "
                "(names, ids or free text): left out",
                "To use it, encode it in your data (a group, a length, a flag) and infer again",
            )
        )
        return None
    covered = float(counts[frequent].sum()) / max(len(present), 1)
    decisions.append(
        Decision(
            name,
            f"{distinct} distinct values: a category of its {len(frequent)} most frequent "
            f"({covered:.0%} of rows), with open limits: any other value is answered, not "
            f'flagged, and the model and drift count it as one, "{OTHER}"',
            f"To list more or fewer, edit its values in the contract; to leave it out, pass "
            f"--exclude '{name}'",
        )
    )
    return Feature(
        name=name,
        type=FeatureType.CATEGORY,
        nullable=nullable,
        values=tuple(frequent),
        limits=Limits.OPEN,
    )


def _written_as_codes(text: pd.Series, present: pd.Series) -> bool:
    """Digits with leading zeros (``007``, ``02139``): codes, not numbers."""
    if ptypes.is_bool_dtype(present):
        return False
    return bool(text.str.fullmatch(r"\d+").all()) and bool(text.str.match(r"0\d").any())


def _numeric_flags(present: pd.Series) -> bool:
    """Numbers that are 0 or 1 on every row (counts and integer codes as often as flags)."""
    return (
        ptypes.is_numeric_dtype(present)
        and not ptypes.is_bool_dtype(present)
        and set(present.unique()) <= {0, 1}
    )


def _holds_booleans(text: pd.Series) -> bool:
    """Two values that are the two sides of one way of writing booleans (yes/no, 0/1, Y/N)."""
    values = set(text.str.lower().unique())
    if len(values) != 2:  # noqa: PLR2004
        return False
    return {BOOLEAN_WORDS.get(value) for value in values} == {True, False} and any(
        values == {yes, no} for yes, no in _BOOLEAN_PAIRS
    )


_BOOLEAN_PAIRS = (("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"), ("1", "0"))


def _observed_range(low: float, high: float, *, whole: bool) -> tuple[float, float]:
    """The observed range widened by :data:`MARGIN` of its span; non-negative data stays so."""
    margin = (high - low) * MARGIN or max(abs(high) * MARGIN, 1.0)
    lower, upper = low - margin, high + margin
    if low >= 0:
        lower = max(lower, 0.0)
    if whole:
        return float(math.floor(lower)), float(math.ceil(upper))
    return _round_down(lower), _round_up(upper)


def _infer_target(
    name: str, column: pd.Series, problem_type: ProblemType | None, decisions: list[Decision]
) -> Target:
    labels = sorted(column.astype(str).unique())
    looks_like_classes = not ptypes.is_float_dtype(column) and (
        not ptypes.is_numeric_dtype(column) or len(labels) <= MAX_CLASSES
    )
    if problem_type is None:
        problem_type = (
            ProblemType.MULTICLASS_CLASSIFICATION
            if looks_like_classes and len(labels) > 2  # noqa: PLR2004
            else ProblemType.BINARY_CLASSIFICATION
            if looks_like_classes
            else ProblemType.REGRESSION
        )
    if problem_type is ProblemType.REGRESSION:
        if not ptypes.is_numeric_dtype(column):
            raise InferenceError(
                f"target '{name}' is not numeric, so it cannot be a regression target; "
                "pass --problem-type binary_classification or multiclass_classification"
            )
        low, high = _observed_range(float(column.min()), float(column.max()), whole=False)
        return Target(name=name, minimum=low, maximum=high, limits=Limits.OBSERVED)
    expected_two = problem_type is ProblemType.BINARY_CLASSIFICATION
    if expected_two != (len(labels) == 2):  # noqa: PLR2004
        raise InferenceError(
            f"target '{name}' has {len(labels)} classes, which does not fit {problem_type.value}; "
            "pass another --problem-type"
        )
    if not expected_two:
        return Target(name=name, classes=tuple(labels))
    # The rarer class is usually the event the model is for (churned, fraud, malignant): the
    # metrics score it. Written explicitly, as the alphabetical order of labels means nothing.
    counts = column.astype(str).value_counts()
    positive = min(labels, key=lambda label: (counts[label], label))
    decisions.append(
        Decision(
            name,
            f"positive class '{positive}' (the rarer: {counts[positive] / len(column):.0%} of "
            "rows); F1 and ROC AUC score it",
            "To score the other class, set target.positive_class in the contract",
        )
    )
    return Target(name=name, classes=tuple(labels), positive_class=positive)


def _round_down(value: float) -> float:
    return float(math.floor(value * 100) / 100)


def _round_up(value: float) -> float:
    return float(math.ceil(value * 100) / 100)
