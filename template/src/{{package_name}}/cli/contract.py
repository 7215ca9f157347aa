"""`contract infer` and `contract show`: the data contract from a team's own table."""

import sys
from pathlib import Path
from typing import Annotated, Literal

from cyclopts import App, Parameter

from ..config.settings import HOLDOUT_SPLIT, Settings
from ..config.training import write_behaviour_checks
from ..contract.data_contract import DataContract, Limits, ProblemType
from ..contract.inference import infer_contract
from ..contract.project_files import set_env, update_readme_request
from ..data.files import read_table, read_written
from ..models.baseline import save_baseline
from .progress import steps

OPEN_SHOWN = 5
"""Values of an open category that `contract show` lists (its most frequent)."""

ProblemTypeName = Literal["binary_classification", "multiclass_classification", "regression"]
INFER_STEPS = ("read the table", "infer the contract", "learn the baseline", "write the files")

contract = App(name="contract", help="Write a data contract from your own table, or show it.")


@contract.command
def infer(
    path: Path,
    /,
    *,
    target: str,
    id_column: str | None = None,
    exclude: Annotated[tuple[str, ...], Parameter(consume_multiple=False)] = (),
    category: Annotated[tuple[str, ...], Parameter(consume_multiple=False)] = (),
    problem_type: ProblemTypeName | None = None,
    holdout: Path | None = None,
    name: str | None = None,
    output: Path | None = None,
    force: bool = False,
) -> int:
    """Write a data contract from a CSV or Parquet file, with every decision it made.

    Types, observed ranges, categories and missing values; the baseline's rules learned from
    the data; the behaviour checks of config/training.yaml; .env pointed at the file. Review
    the result before committing it.

    Example: contract infer data/own/churn.csv --target churned --exclude notes

    Parameters
    ----------
    path
        CSV or Parquet file with the target column.
    target
        Column the model predicts.
    id_column
        Column that identifies a row, not a feature (default: a text column with a distinct
        value on every row, if there is one).
    exclude
        Leave a column out (repeat for more).
    category
        Read a column as a category whatever it holds, e.g. a numeric code (repeat for more).
    problem_type
        Force the problem type instead of guessing it from the target.
    holdout
        A held-out file of the same table: checked by `validate`, and retraining's comparison
        set with `evaluation.holdout: file` (default: the newest 20% of the training data).
    name
        Contract name (default: the file's name).
    output
        Where to write (default: APP_CONTRACT_PATH); leaves config/training.yaml and .env alone.
    force
        Replace an existing contract and baseline.
    """
    from ..models.baseline_fitting import behaviour_checks, learn_baseline  # noqa: PLC0415 - scikit-learn

    settings = Settings()
    contract_path = output or settings.contract_path
    baseline_path = contract_path.with_name("baseline.yaml") if output else settings.baseline_path
    existing = [str(file) for file in (contract_path, baseline_path) if file.exists()]
    if existing and not force:
        print(
            f"{' and '.join(existing)} exist(s); pass --force to replace them (and the behaviour "
            "checks in the training configuration), or --output to write elsewhere.",
            file=sys.stderr,
        )
        return 1
    with steps("contract infer", INFER_STEPS) as begin:
        begin("read the table")
        frame = read_table(path)
        written = read_written(path)
        begin("infer the contract")
        inference = infer_contract(
            frame,
            name=name or path.stem,
            target=target,
            id_column=id_column,
            exclude=exclude,
            categories=category,
            problem_type=ProblemType(problem_type) if problem_type else None,
            written=written,
        )
        inferred = inference.contract
        begin("learn the baseline")
        rules, regions = learn_baseline(frame, inferred)
        begin("write the files")
        inferred.save(contract_path)
        save_baseline(rules, baseline_path)
        checks = None if output else behaviour_checks(regions, inferred)
        if checks is not None:
            write_behaviour_checks(settings.training_config_path, checks, inferred)
    print(
        f"Read {path}: {len(frame)} rows. Wrote {contract_path}: {len(inferred.features)} "
        f"features, target '{inferred.target.name}' ({inferred.problem_type.value})."
    )
    for decision in inference.decisions:
        print(f"  - {decision.describe()}")
    how = f"{len(rules.rules)} rules learned from the data" if rules.rules else "no rules"
    print(f"Wrote {baseline_path}: {how}, then the fallback; edit them as a domain expert would.")
    if checks is None:
        print(f"Left {settings.training_config_path} and .env as they are (--output given).")
    else:
        print(
            f"Wrote {settings.training_config_path}: {len(checks)} behaviour check(s) from the "
            "data; its outcome, estimator and margins are left as they were."
        )
        held_out = str(holdout) if holdout else HOLDOUT_SPLIT
        set_env(Path(".env"), {"APP_TRAINING_DATA": str(path), "APP_HOLDOUT_DATA": held_out})
        print(f"Wrote .env: APP_TRAINING_DATA={path}, APP_HOLDOUT_DATA={held_out}.")
        if update_readme_request(Path("README.md"), inferred):
            print("Wrote README.md: its example request uses the new fields.")
    print(
        "Next: review the contract, commit it, then `make rebaseline` to serve the new baseline "
        "(history is kept) and `make validate` to check your files."
    )
    return 0


@contract.command
def show() -> int:
    """Check the contract (APP_CONTRACT_PATH) and print a summary of its features.

    Example: contract show
    """
    settings = Settings()
    loaded = DataContract.load(settings.contract_path)
    print(f"{settings.contract_path}: {loaded.name} ({loaded.problem_type.value})")
    print(f"  id column: {loaded.id_column or '(none)'}")
    print(f"  target:    {loaded.target.name}")
    for feature in loaded.features:
        if feature.values and feature.limits is Limits.OPEN:  # may list 50 values: the first
            more = ", ..." if len(feature.values) > OPEN_SHOWN else ""
            allowed = f"{', '.join(feature.values[:OPEN_SHOWN])}{more} and any other"
        elif feature.values:
            allowed = ", ".join(feature.values)
        elif feature.type in ("integer", "number"):
            low = "no minimum" if feature.minimum is None else f"{feature.minimum:g}"
            high = "no maximum" if feature.maximum is None else f"{feature.maximum:g}"
            allowed = f"{low} .. {high}"
        elif feature.type == "datetime":
            allowed = "ISO 8601 date-times"
        else:
            allowed = "true, false"
        nullable = ", nullable" if feature.nullable else ""
        print(f"  - {feature.name}: {feature.type.value}{nullable} [{allowed}]")
    return 0
