"""`validate` and `sample-data`: data files against the contract, and the sample generator."""

import sys
from pathlib import Path
from typing import Literal

from ..config.settings import HOLDOUT_SPLIT, Engine, Settings
from ..contract.data_contract import DataContract, ProblemType
from ..data.files import TableChunks, write_table
from ..data.sample import SEED, generate, write_sample
from ..data.validation import validate_chunks
from .progress import steps

ProblemTypeName = Literal["binary_classification", "multiclass_classification", "regression"]


def validate(
    path: Path | None = None, /, *, require_target: bool = False, engine: Engine = "streamed"
) -> int:
    """Check a CSV or Parquet file (or folder) against the contract (Great Expectations).

    Runs the suite derived from the contract, plus data/custom_expectations.py. Exit 0 when
    every expectation holds; otherwise exit 1, naming each failed expectation, its column, the
    share of bad rows and examples. Writes an HTML and a JSON report under
    APP_REPORTS_DIR/validation/. Reads APP_CHUNK_ROWS rows at a time: memory stays flat
    however long the file, and the report is the same as for the whole file.

    Example: validate data/new_batch.csv --require-target

    Parameters
    ----------
    path
        CSV or Parquet file (default: APP_TRAINING_DATA and APP_HOLDOUT_DATA, with target).
    require_target
        The target column must be there too.
    engine
        streamed: APP_CHUNK_ROWS rows at a time; pandas: the whole file in memory at once.
    """
    settings = Settings()
    contract = DataContract.load(settings.contract_path)
    paths = [path] if path else [settings.training_data, settings.holdout_data]
    if not path and settings.holdout_data == Path(HOLDOUT_SPLIT):
        paths = paths[:1]  # held out from the training data, which is checked
    with_target = require_target or not path
    failed = 0
    rows = None if engine == "pandas" else settings.chunk_rows
    with steps("validate", [f"validate {file}" for file in paths]) as begin:
        for file in paths:
            begin(f"validate {file}")
            report = validate_chunks(
                TableChunks(file, contract.text_columns, rows),
                contract,
                source=str(file),
                require_target=with_target,
                extra_columns=settings.extra_fields,
            )
            json_path, html_path = report.write(settings.reports_dir / "validation")
            stream = sys.stdout if report.passed else sys.stderr
            print(report.summary(), file=stream)
            print(f"Reports: {html_path} (people), {json_path} (machines)", file=stream)
            failed += not report.passed
    return 1 if failed else 0


def sample_data(
    *,
    rows: int | None = None,
    output: Path | None = None,
    seed: int = SEED,
    problem_type: ProblemTypeName | None = None,
) -> int:
    """Regenerate the sample data, or write a larger dataset of the same schema.

    Without --rows, rewrite data/sample/ exactly as shipped. With --rows and --output, write
    that many labelled rows (for load tests and benchmarks).

    Example: sample-data --rows 100000 --output data/load.parquet

    Parameters
    ----------
    rows
        Number of rows to write.
    output
        File to write (.csv or .parquet).
    seed
        Random seed.
    problem_type
        Target to generate (default: the contract's).
    """
    settings = Settings()
    problem = (
        ProblemType(problem_type)
        if problem_type
        else DataContract.load(settings.contract_path).problem_type
    )
    if rows is None:
        for path in write_sample(problem, settings.sample_data_dir):
            print(f"Wrote {path}")
        return 0
    if output is None:
        print("--rows needs --output FILE (.csv or .parquet).", file=sys.stderr)
        return 2
    write_table(generate(problem, rows, seed), output)
    print(f"Wrote {output}: {rows} rows of the sample schema ({problem.value})")
    return 0
