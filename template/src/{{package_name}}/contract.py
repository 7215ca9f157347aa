"""The data contract: the single source of truth for features, types, ranges, target and id.

The API schema, the validation suite, the drift configuration and the baseline are all derived
from a :class:`DataContract`, which is read from ``contract/data_contract.yaml``.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .yaml_files import load_model

ColumnName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class ContractError(Exception):
    """The contract file is missing, unreadable or inconsistent."""


class FeatureType(StrEnum):
    """Types a feature may have."""

    INTEGER = "integer"
    NUMBER = "number"
    CATEGORY = "category"
    BOOLEAN = "boolean"


class ProblemType(StrEnum):
    """What the model predicts, implied by the target."""

    BINARY_CLASSIFICATION = "binary_classification"
    MULTICLASS_CLASSIFICATION = "multiclass_classification"
    REGRESSION = "regression"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feature(_Strict):
    """One input column of the model."""

    name: ColumnName
    type: FeatureType
    description: str = ""
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] | None = None

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
        return self


class Target(_Strict):
    """The column the model predicts: classes for classification, a number for regression."""

    name: ColumnName
    description: str = ""
    classes: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    @model_validator(mode="after")
    def _check_constraints(self) -> Self:
        if self.classes is not None:
            if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):  # noqa: PLR2004
                raise ValueError(f"target '{self.name}': classes must be two or more unique labels")
            if self.minimum is not None or self.maximum is not None:
                raise ValueError(f"target '{self.name}': give classes or a range, not both")
        return self


class DataContract(_Strict):
    """Features, target and id column of the project's data."""

    name: ColumnName
    description: str = ""
    id_column: ColumnName | None = None
    target: Target
    features: tuple[Feature, ...] = Field(min_length=1)

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
        return self

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
        document = self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
        path.write_text(
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
