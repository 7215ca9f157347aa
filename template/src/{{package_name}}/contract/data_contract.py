"""The data contract: the single source of truth for features, types, ranges, target and id.

The API schema, the validation suite, the drift configuration and the baseline are all derived
from a :class:`DataContract`, which is read from ``contract/data_contract.yaml``.
"""

import keyword
import re
import unicodedata
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import AfterValidator, BaseModel, Field, model_validator

from ..core.errors import UserError
from ..core.yaml_files import StrictModel, load_model


def _usable_name(name: str) -> str:
    """Any name a CSV header, a Parquet file or a database can carry, except invisible ones."""
    if not name.strip():
        raise ValueError("a column name must not be blank")
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise ValueError(f"column name {name!r} must not contain control characters")
    return name


ColumnName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_usable_name)]
"""A column as the team names it: spaces, punctuation, unicode and leading digits included."""

Key = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
"""An identifier for code that needs one (the API's field names), derived from a column name."""


RESERVED_KEYS = frozenset({"record_id", *dir(BaseModel)})
"""Keys the request record uses itself, or that pydantic models reserve."""


def key_for(name: str) -> str:
    """An identifier for ``name``: itself if it is one, ``Total area (m²)`` -> ``total_area_m2``."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
        key = name
    else:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        key = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:60] or "column"
    if key[0].isdigit() or keyword.iskeyword(key) or keyword.issoftkeyword(key):
        key = f"c_{key}"
    if key in RESERVED_KEYS or key.startswith("model_"):
        key = f"{key}_"
    return key


HEADER = """\
# The data contract: the single source of truth for this project's data (check: `make contract`).
# Types: integer, number, category, boolean, datetime (ISO 8601); `nullable: true` allows gaps.
# `limits: observed`: seen in the data (widened by 10%); values outside (and fractions where
# whole numbers were seen) are answered, flagged in `out_of_range` and reported by validation.
# Make a limit `declared` (the default) where a value outside cannot be meaningful: it is then
# refused. `limits: open` (categories with many values): `values` are the most frequent ones;
# any other value is ordinary, never flagged, and the model and drift count it as one, "(other)".
# `key`: the identifier code uses for a name.
# `max_out_of_range_share` (default 0.05): the share of rows outside an observed limit that a
# file may have before `validate` fails, and that the traffic may have before `monitor` alerts.
# `positive_class` (two classes): the class F1 and ROC AUC score; infer proposes the rarer one.
"""


class ContractError(UserError):
    """The contract file is missing, unreadable or inconsistent."""


class FeatureType(StrEnum):
    """Types a feature may have."""

    INTEGER = "integer"
    NUMBER = "number"
    CATEGORY = "category"
    BOOLEAN = "boolean"
    DATETIME = "datetime"


class Limits(StrEnum):
    """What a feature's range or values mean.

    ``declared``: set by the team; a value outside cannot be meaningful and is refused.
    ``observed``: learned from data by ``contract infer``; new data may go beyond it.
    ``open`` (categories): the values listed are the most frequent; others are ordinary, and the
    model and drift count them as one, :data:`OTHER`.
    """

    DECLARED = "declared"
    OBSERVED = "observed"
    OPEN = "open"


OTHER = "(other)"
"""What the model and drift see for a value of an open category that the contract does not list."""


class ExtraFields(StrEnum):
    """What becomes of fields (API) and columns (files, tables) that the contract does not name.

    ``ignore``: left out of scoring and logging, counted and reported. ``refuse``: a 4xx at the
    API, a validation failure for a file.
    """

    IGNORE = "ignore"
    REFUSE = "refuse"


class ProblemType(StrEnum):
    """What the model predicts, implied by the target."""

    BINARY_CLASSIFICATION = "binary_classification"
    MULTICLASS_CLASSIFICATION = "multiclass_classification"
    REGRESSION = "regression"


class Feature(StrictModel):
    """One input column of the model."""

    name: ColumnName
    key: Key | None = None
    type: FeatureType
    description: str = ""
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] | None = None
    limits: Limits = Limits.DECLARED

    @model_validator(mode="after")
    def _check_constraints(self) -> Self:
        numeric = self.type in (FeatureType.INTEGER, FeatureType.NUMBER)
        if not numeric and (self.minimum is not None or self.maximum is not None):
            raise ValueError(f"'{self.name}': minimum/maximum apply to integer and number only")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(
                f"'{self.name}': minimum {self.minimum} is above maximum {self.maximum}"
            )
        if self.type is FeatureType.CATEGORY:
            if not self.values:
                raise ValueError(f"'{self.name}': a category needs a non-empty list of values")
            if len(set(self.values)) != len(self.values):
                raise ValueError(f"'{self.name}': values must be unique")
        elif self.values is not None:
            raise ValueError(f"'{self.name}': values apply to category features only")
        if self.limits is Limits.OPEN and self.type is not FeatureType.CATEGORY:
            raise ValueError(f"'{self.name}': `limits: open` applies to categories only")
        return self


class Target(StrictModel):
    """The column the model predicts: classes for classification, a number for regression."""

    name: ColumnName
    description: str = ""
    classes: tuple[str, ...] | None = None
    positive_class: str | None = None
    """Binary targets: the class the metrics score (F1, ROC AUC); the second class if unset."""
    minimum: float | None = None
    maximum: float | None = None
    limits: Limits = Limits.DECLARED

    @property
    def positive(self) -> str | None:
        """The positive class of a binary target; None for other targets."""
        if self.classes is None or len(self.classes) != 2:  # noqa: PLR2004
            return None
        return self.positive_class or self.classes[1]

    @model_validator(mode="after")
    def _check_constraints(self) -> Self:
        if self.limits is Limits.OPEN:
            raise ValueError(f"target '{self.name}': `limits: open` applies to features only")
        if self.positive_class is not None and (
            self.classes is None or len(self.classes) != 2  # noqa: PLR2004
        ):
            raise ValueError(f"target '{self.name}': positive_class is for two classes only")
        if self.positive_class is not None and self.positive_class not in (self.classes or ()):
            raise ValueError(
                f"target '{self.name}': positive_class {self.positive_class!r} is not one of "
                f"its classes ({', '.join(self.classes or ())})"
            )
        if self.classes is not None:
            if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):  # noqa: PLR2004
                raise ValueError(f"target '{self.name}': classes must be two or more unique labels")
            if self.minimum is not None or self.maximum is not None:
                raise ValueError(f"target '{self.name}': give classes or a range, not both")
        return self


class DataContract(StrictModel):
    """Features, target and id column of the project's data."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    id_column: ColumnName | None = None
    target: Target
    features: tuple[Feature, ...] = Field(min_length=1)
    max_out_of_range_share: float = Field(default=0.05, ge=0, le=1)
    """Share of rows beyond an observed limit, per feature, past which a file fails validation
    and the traffic raises a monitoring alert (declared limits always fail)."""

    @model_validator(mode="after")
    def _check_columns(self) -> Self:
        names = [feature.name for feature in self.features]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"features listed twice: {', '.join(duplicates)}")
        for role, column in (("target", self.target.name), ("id_column", self.id_column)):
            if column in names:
                raise ValueError(f"{role} '{column}' must not also be a feature")
        if self.id_column is not None and self.id_column == self.target.name:
            raise ValueError("id_column and target must be different columns")
        explicit = {feature.key for feature in self.features if feature.key}
        reserved = sorted(k for k in explicit if k in RESERVED_KEYS or k.startswith("model_"))
        if reserved:
            raise ValueError(f"key(s) {', '.join(reserved)} are reserved; choose others")
        keys = list(self.feature_keys.values())
        clashes = sorted({key for key in keys if keys.count(key) > 1})
        if clashes:
            raise ValueError(
                f"features share the key {', '.join(clashes)}; give each a `key` of its own"
            )
        return self

    @property
    def feature_keys(self) -> dict[str, str]:
        """Feature name -> identifier: the feature's ``key``, or one derived from its name.

        Derived keys that collide (``a b`` and ``a-b``) are numbered in contract order.
        """
        keys: dict[str, str] = {}
        taken = {feature.key for feature in self.features if feature.key}
        for feature in self.features:
            if feature.key:
                keys[feature.name] = feature.key
                continue
            key, number = key_for(feature.name), 2
            while key in taken:
                key, number = f"{key_for(feature.name)}_{number}", number + 1
            taken.add(key)
            keys[feature.name] = key
        return keys

    @property
    def problem_type(self) -> ProblemType:
        """The kind of model this contract calls for."""
        if self.target.classes is None:
            return ProblemType.REGRESSION
        if len(self.target.classes) == 2:  # noqa: PLR2004
            return ProblemType.BINARY_CLASSIFICATION
        return ProblemType.MULTICLASS_CLASSIFICATION

    @property
    def feature_names(self) -> list[str]:
        """Feature names in contract order."""
        return [feature.name for feature in self.features]

    @property
    def columns(self) -> list[str]:
        """Every column a labelled dataset has: id (if any), features, target."""
        id_columns = [self.id_column] if self.id_column else []
        return [*id_columns, *self.feature_names, self.target.name]

    @property
    def text_columns(self) -> list[str]:
        """Columns read as text whatever they hold: the id and the categories."""
        categories = [f.name for f in self.features if f.type is FeatureType.CATEGORY]
        return [*([self.id_column] if self.id_column else []), *categories]

    @property
    def open_categories(self) -> dict[str, frozenset[str]]:
        """Categories with open limits -> the values they list (any other counts as OTHER)."""
        return {f.name: frozenset(f.values or ()) for f in self.features if f.limits is Limits.OPEN}

    def feature(self, name: str) -> Feature:
        """The feature called ``name``."""
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    @classmethod
    def load(cls, path: Path) -> "DataContract":
        """Read and check a contract file, raising :class:`ContractError` with a clear message."""
        return load_model(
            cls,
            path,
            what="data contract",
            missing_hint="Write one with `contract infer DATA --target COLUMN`, "
            "or set APP_CONTRACT_PATH.",
            error=ContractError,
        )

    def save(self, path: Path) -> None:
        """Write the contract as YAML, in a stable key order that reads well."""
        path.parent.mkdir(parents=True, exist_ok=True)
        document = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        body = yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True, default_flow_style=None
        )
        path.write_text(HEADER + body, encoding="utf-8")
