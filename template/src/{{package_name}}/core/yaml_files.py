"""Reading the team's YAML files (contract, baseline) into checked models, with clear errors."""

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """A part of a team's file, unchangeable once read.

    Unknown keys are refused: a misspelt key is an error, not a silent default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


def listed_errors(error: ValidationError, root: str) -> str:
    """One line per problem, each naming where it is (``features.0.type: ...``)."""
    return "\n".join(
        f"  - {'.'.join(str(part) for part in item['loc']) or root}: {item['msg']}"
        for item in error.errors()
    )


def load_model(
    model: type[Model], path: Path, *, what: str, missing_hint: str, error: type[Exception]
) -> Model:
    """Read ``path`` as YAML and check it as ``model``; any problem raises ``error``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"No {what} at {path}. {missing_hint}") from None
    except yaml.YAMLError as problem:
        raise error(f"{path} is not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise error(f"{path} must hold a mapping (keys and values), not {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as problem:
        raise error(f"{path} is not a valid {what}:\n{listed_errors(problem, what)}") from None
