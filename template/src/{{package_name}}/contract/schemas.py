"""Types derived from the data contract: API request records, model input frames, MLflow signature.

Nothing here is written by hand per feature: change the contract and all of these follow.
"""

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    create_model,
)

from .data_contract import DataContract, ExtraFields, Feature, FeatureType, Limits

if TYPE_CHECKING:
    from mlflow.models import ModelSignature


def _numbers_only(value: object) -> object:
    """Refuse text and booleans where a number is due (pydantic would convert "3" and true)."""
    if isinstance(value, str | bool):
        raise ValueError(f"Input should be a valid number, not {type(value).__name__}")
    return value


def _text_only(value: object) -> object:
    """Refuse numbers where a date-time is due (pydantic would read them as Unix time)."""
    if not isinstance(value, str):
        raise ValueError("Input should be a date-time in ISO 8601, such as 2024-05-31T14:00:00")
    return value


EARLIEST, LATEST = datetime(1678, 1, 1), datetime(2261, 12, 31)
"""The date-times a model can take (pandas' nanosecond range), in whole years."""


def _in_range(value: datetime) -> datetime:
    naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if not EARLIEST <= naive <= LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "yes", "y", "t", "1", "1.0"), True),
    **dict.fromkeys(("false", "no", "n", "f", "0", "0.0"), False),
}
"""How files write booleans (compared in lower case)."""


def _boolean(value: object) -> object:
    """true/false, the numbers 1 and 0, or a word files use for them (``yes``, ``N``, ``0``...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):  # JSON 0 and 1, as files write them
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[value.strip().lower()]
    raise ValueError("Input should be a valid boolean: true or false (or yes/no, y/n, 1/0)")


def as_booleans(column: pd.Series) -> pd.Series:
    """Booleans from ``True``, ``yes``, ``Y``, ``1`` and the like; missing stays missing."""
    if pd.api.types.is_bool_dtype(column):
        return column
    words = column.astype(object).where(column.notna(), None)
    return words.map(
        lambda value: None if value is None else BOOLEAN_WORDS[str(value).strip().lower()]
    )


def as_timestamps(column: pd.Series) -> pd.Series:
    """Date-times as naive UTC timestamps, from ISO 8601 text or a date-time column."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return pd.Series(column.dt.tz_convert("UTC").dt.tz_localize(None))
    if pd.api.types.is_datetime64_dtype(column):
        return column
    # A date pandas cannot hold (year 1, or 9999) becomes missing instead of failing the batch:
    # the API refuses it, validation reports it.
    parsed = pd.to_datetime(column, format="ISO8601", utc=True, errors="coerce")
    return pd.Series(parsed.dt.tz_localize(None))


CONTROL_CHARACTERS = frozenset(map(chr, [*range(32), 127]))


def printable(value: str) -> str:
    """Refuse control characters (NUL and the like): no audit trail stores them all."""
    if CONTROL_CHARACTERS.intersection(value):
        raise ValueError("must not contain control characters (such as NUL or a line break)")
    return value


def _field_type(feature: Feature) -> Any:  # noqa: ANN401, PLR0911 - a type expression, by type
    """The API type of a feature: declared limits are enforced, observed ones only flagged."""
    declared = feature.limits is Limits.DECLARED
    low, high = (feature.minimum, feature.maximum) if declared else (None, None)
    if feature.type is FeatureType.INTEGER and declared:
        # 3 and 3.0 are accepted, 3.5 is not
        return Annotated[int, Field(ge=low, le=high), BeforeValidator(_numbers_only)]
    if feature.type is FeatureType.INTEGER:  # whole numbers were seen: 3.5 is answered, flagged
        return Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_numbers_only)]
    if feature.type is FeatureType.NUMBER:
        return Annotated[
            float, Field(allow_inf_nan=False, ge=low, le=high), BeforeValidator(_numbers_only)
        ]
    if feature.type is FeatureType.BOOLEAN:
        return Annotated[bool, BeforeValidator(_boolean)]
    if feature.type is FeatureType.DATETIME:
        return Annotated[
            datetime,
            BeforeValidator(_text_only),
            AfterValidator(_in_range),
            PlainSerializer(datetime.isoformat, return_type=str),
        ]
    if not declared:  # an unseen category is answered (and flagged), not refused
        return Annotated[str, Field(min_length=1, max_length=200), AfterValidator(printable)]
    return Literal[tuple(feature.values or ())]


class ObservedLimits:
    """The contract's observed limits, gathered once, to flag each record that goes beyond."""

    def __init__(self, contract: DataContract) -> None:
        observed = [f for f in contract.features if f.limits is Limits.OBSERVED]
        self._ranged = [
            (
                f.name,
                -math.inf if f.minimum is None else f.minimum,
                math.inf if f.maximum is None else f.maximum,
            )
            for f in observed
            if f.minimum is not None or f.maximum is not None
        ]
        self._valued = [(f.name, frozenset(f.values)) for f in observed if f.values]
        self._whole = [f.name for f in observed if f.type is FeatureType.INTEGER]

    @property
    def features(self) -> list[str]:
        """The features that have observed limits."""
        names = [name for name, _, _ in self._ranged] + [name for name, _ in self._valued]
        return list(dict.fromkeys([*names, *self._whole]))

    def outside(self, records: list[dict[str, Any]]) -> list[list[str]]:
        """Per record, the features beyond their observed limits.

        A range, the categories seen, or whole numbers where only they were seen.
        """
        if not self._ranged and not self._valued and not self._whole:
            return [[] for _ in records]
        flagged: list[list[str]] = []
        for record in records:
            outside = [
                name
                for name, low, high in self._ranged
                if (value := record.get(name)) is not None and not low <= value <= high
            ]
            outside += [
                name
                for name, values in self._valued
                if (value := record.get(name)) is not None and value not in values
            ]
            outside += [
                name
                for name in self._whole
                if (value := record.get(name)) is not None
                and not float(value).is_integer()
                and name not in outside
            ]
            flagged.append(outside)
        return flagged


def record_model(
    contract: DataContract, extra: ExtraFields = ExtraFields.REFUSE
) -> type[BaseModel]:
    """One input record: each feature with its type, range or values.

    Fields are named by the contract's keys, with the feature's own name as alias: callers use
    the team's column names, whatever characters they hold. Fields the contract does not name
    are refused, or with ``ignore`` kept apart in ``model_extra`` (never scored or logged).
    """
    fields: dict[str, Any] = {}
    keys = contract.feature_keys
    for feature in contract.features:
        annotation = _field_type(feature)
        if feature.nullable:
            fields[keys[feature.name]] = (
                annotation | None,
                Field(default=None, alias=feature.name, description=feature.description),
            )
        else:
            fields[keys[feature.name]] = (
                annotation,
                Field(alias=feature.name, description=feature.description),
            )
    if contract.id_column:
        fields["record_id"] = (
            Annotated[str, AfterValidator(printable)] | None,
            Field(default=None, alias=contract.id_column, max_length=128, description="Your id."),
        )
    config = ConfigDict(
        extra="forbid" if extra is ExtraFields.REFUSE else "allow",
        frozen=True,
        populate_by_name=False,
    )
    return create_model("Record", __config__=config, **fields)


def records_frame(records: list[dict[str, Any]], contract: DataContract) -> pd.DataFrame:
    """Model input from records checked by the API's record model, typed as the signature says.

    Features in contract order, numbers as float64. Built column by column from typed arrays:
    on the request path this is several times faster than building a frame and casting it.
    """
    columns: dict[str, np.ndarray[Any, Any]] = {}
    for feature in contract.features:
        values = [record.get(feature.name) for record in records]
        if feature.type in (FeatureType.INTEGER, FeatureType.NUMBER):
            columns[feature.name] = np.array(
                [np.nan if value is None else value for value in values], dtype="float64"
            )
        elif feature.type is FeatureType.BOOLEAN and not feature.nullable:
            columns[feature.name] = np.array(values, dtype=bool)
        elif feature.type is FeatureType.DATETIME:
            columns[feature.name] = as_timestamps(pd.Series(values, dtype=object)).to_numpy()
        else:
            columns[feature.name] = np.array(values, dtype=object)
    return pd.DataFrame(columns, copy=False)


def example_records(contract: DataContract) -> list[dict[str, Any]]:
    """One valid record: each feature at its minimum, first value, or false."""
    record: dict[str, Any] = {}
    for feature in contract.features:
        if feature.values:
            record[feature.name] = feature.values[0]
        elif feature.type is FeatureType.BOOLEAN:
            record[feature.name] = False
        elif feature.type is FeatureType.DATETIME:
            record[feature.name] = "2024-01-01T00:00:00"
        else:
            low = feature.minimum
            if low is None:  # no minimum: 0, unless the maximum is below it
                low = 0.0 if feature.maximum is None else min(0.0, feature.maximum)
            integer = feature.type is FeatureType.INTEGER
            record[feature.name] = math.ceil(low) if integer else low
    return [record]


def cast_features(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The contract's feature columns of ``frame``, cast to the types of the model signature."""
    cast: dict[str, pd.Series] = {}
    for feature in contract.features:
        column = frame[feature.name]
        if feature.type in (FeatureType.INTEGER, FeatureType.NUMBER):
            cast[feature.name] = pd.to_numeric(column, errors="raise").astype("float64")
        elif feature.type is FeatureType.BOOLEAN:
            booleans = as_booleans(column)
            cast[feature.name] = (
                booleans.astype(bool) if not feature.nullable else booleans.astype(object)
            )
        elif feature.type is FeatureType.DATETIME:
            cast[feature.name] = as_timestamps(column)
        else:
            cast[feature.name] = column.astype(object).where(column.notna(), None)
    return pd.DataFrame(cast, index=frame.index)


def model_signature(contract: DataContract) -> "ModelSignature":
    """The MLflow signature every model of this project has: features in, prediction out."""
    from mlflow.models import ModelSignature  # noqa: PLC0415 - MLflow is slow to import
    from mlflow.types import ColSpec, Schema  # noqa: PLC0415

    kinds = {
        FeatureType.INTEGER: "double",
        FeatureType.NUMBER: "double",
        FeatureType.CATEGORY: "string",
        FeatureType.BOOLEAN: "boolean",
        FeatureType.DATETIME: "datetime",
    }
    inputs = Schema(
        [
            ColSpec(kinds[feature.type], feature.name, required=not feature.nullable)
            for feature in contract.features
        ]
    )
    prediction_kind = "double" if contract.target.classes is None else "string"
    outputs = Schema(
        [
            ColSpec(prediction_kind, "prediction"),
            ColSpec("double", "confidence", required=False),
            ColSpec("string", "rule", required=False),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def outcome_type(contract: DataContract) -> Any:  # noqa: ANN401 - a type expression built at run time
    """The type of a true outcome: one of the classes, or a finite number."""
    if contract.target.classes is None:
        return Annotated[float, Field(allow_inf_nan=False)]
    return Literal[tuple(contract.target.classes)]
