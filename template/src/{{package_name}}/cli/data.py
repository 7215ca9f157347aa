"""`validate` and `sample-data`: data files against the contract, and the sample generator."""

import sys
from pathlib import Path
from typing import Literal

from ..config.settings import HOLDOUT_SPLIT, Engine, Settings
from ..contract.data_contract import DataContract, ProblemType
from ..core.errors import UserError
from ..data.files import DatabaseTable, Source, TableChunks, write_table
from ..data.sample import SEED, generate, write_sample
from ..data.validation import validate_chunks
from .progress import steps

ProblemTypeName = Literal["binary_classification", "multiclass_classification", "regression"]


def data_source(
    settings: Settings, path: Path | None, table: str | None, query: str | None
) -> Source | None:
    """The file ``path``, or the database table or query of APP_SOURCE_DATABASE_URL."""
    if table is None and query is None:
        return path
    if path is not None:
        raise UserError(f"give a file ({path}) or --table/--query, not both")
    if settings.source_database_url is None:
        raise UserError(
            "--table and --query read from APP_SOURCE_DATABASE_URL: set it to the database's "
            "SQLAlchemy URL (e.g. postgresql+psycopg://user:password@host/db)"
        )
    return DatabaseTable(settings.source_database_url.get_secret_value(), table, query)


def validate(
    path: Path | None = None,
    /,
    *,
    table: str | None = None,
    query: str | None = None,
    require_target: bool = False,
    engine: Engine = "streamed",
) -> int:
    """Check a file (CSV, Parquet, a Parquet folder) or a database table against the contract.

    Great Expectations runs the suite derived from the contract, plus
    data/custom_expectations.py. Exit 0 when
    every expectation holds; otherwise exit 1, naming each failed expectation, its column, the
    share of bad rows and examples. Writes an HTML and a JSON report under
    APP_REPORTS_DIR/validation/. Reads APP_CHUNK_ROWS rows at a time: memory stays flat
    however long the file or table, and the report is the same as for the whole file.

    Example: validate data/new_batch.csv --require-target
    Example: validate --table public.new_batch (from APP_SOURCE_DATABASE_URL)

    Parameters
    ----------
    path
        CSV or Parquet file (default: APP_TRAINING_DATA and APP_HOLDOUT_DATA, with target).
    table
        A table of the database at APP_SOURCE_DATABASE_URL (schema.name or name), instead of a file.
    query
        A SELECT on that database whose rows are checked, instead of a file.
    require_target
        The target column must be there too.
    engine
        streamed: APP_CHUNK_ROWS rows at a time; pandas: the whole file in memory at once.
    """
    settings = Settings()
    contract = DataContract.load(settings.contract_path)
    source = data_source(settings, path, table, query)
    sources: list[Source] = [source] if source else [settings.training_data, settings.holdout_data]
    if not source and settings.holdout_data == Path(HOLDOUT_SPLIT):
        sources = sources[:1]  # held out from the training data, which is checked
    with_target = require_target or not source
    failed = 0
    rows = None if engine == "pandas" else settings.chunk_rows
    with steps("validate", [f"validate {each}" for each in sources]) as begin:
        for each in sources:
            begin(f"validate {each}")
            report = validate_chunks(
                TableChunks(each, contract.text_columns, rows),
                contract,
                source=str(each),
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
