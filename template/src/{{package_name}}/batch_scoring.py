"""Batch scoring of a CSV or Parquet file with the serving model and the API's record checks."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from .contract import DataContract, FeatureType
from .contract_schemas import record_model, records_frame
from .datasets import read_table, write_table
from .scoring import score

if TYPE_CHECKING:
    from .registry import LoadedModel

MAX_LISTED_ERRORS = 10


class BatchValidationError(Exception):
    """Rows of the input break the contract; nothing was scored."""


def _rows(frame: pd.DataFrame, contract: DataContract) -> list[dict[str, object]]:
    """Records as the API would receive them: missing values as None, whole floats as ints."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    integers = [f.name for f in contract.features if f.type is FeatureType.INTEGER]
    for row in rows:
        for name in integers:
            value = row.get(name)
            if isinstance(value, float) and value.is_integer():
                row[name] = int(value)
    return [{str(key): value for key, value in row.items()} for row in rows]


def score_file(
    model: "LoadedModel", contract: DataContract, source: Path, output: Path, threshold: float
) -> pd.DataFrame:
    """Check every row of ``source``, score them all, write inputs and results to ``output``."""
    frame = read_table(source)
    columns = [c for c in (contract.id_column, *contract.feature_names) if c and c in frame]
    checker: TypeAdapter[list[Any]] = TypeAdapter(list[record_model(contract)])  # type: ignore[arg-type,misc]
    try:
        checker.validate_python(_rows(frame[columns], contract))
    except ValidationError as error:
        problems = [
            f"  row {item['loc'][0]}, {item['loc'][-1]}: {item['msg']}"
            for item in error.errors()[:MAX_LISTED_ERRORS]
        ]
        more = error.error_count() - len(problems)
        suffix = f"\n  ... and {more} more" if more > 0 else ""
        raise BatchValidationError(
            f"{source}: {error.error_count()} problem(s), nothing scored:\n"
            + "\n".join(problems)
            + suffix
        ) from None
    scored = score(model, records_frame(_rows(frame, contract), contract), threshold)
    result = pd.concat([frame.reset_index(drop=True), scored.reset_index(drop=True)], axis=1)
    result["model_version"] = model.version
    write_table(result, output)
    return result
