"""The project's single command line: ``uv run <package> --help``.

Every ``make`` target and every CI step calls one of these subcommands.
"""

import argparse
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .baseline import BaselineError, default_baseline, save_baseline
from .batch_scoring import score_file
from .contract import ContractError, DataContract, ProblemType
from .contract_inference import InferenceError, infer_contract
from .datasets import DataFileError, read_table, write_table
from .sample_data import SEED, generate, write_sample
from .settings import PACKAGE, Settings
from .validation import DataValidationError, validate

Handler = Callable[[argparse.Namespace, Settings], int]

PLANNED = {
    "monitor": "compare recent predictions with the reference data (Evidently)",
    "retrain": "run the retraining flow (Prefect)",
    "promote": "make a model version the champion",
    "rollback": "move the champion back to the previous version",
}
"""Commands this template version reserves but does not provide yet."""


def _contract_infer(args: argparse.Namespace, settings: Settings) -> int:
    output: Path = args.output or settings.contract_path
    baseline_output = output.with_name("baseline.yaml") if args.output else settings.baseline_path
    existing = [str(path) for path in (output, baseline_output) if path.exists()]
    if existing and not args.force:
        print(
            f"{' and '.join(existing)} exist(s); pass --force to replace, or --output to write "
            "elsewhere.",
            file=sys.stderr,
        )
        return 1
    frame = read_table(args.path)
    contract = infer_contract(
        frame,
        name=args.name or args.path.stem.replace("-", "_"),
        target=args.target,
        id_column=args.id_column,
        exclude=tuple(args.exclude),
        problem_type=args.problem_type,
    )
    contract.save(output)
    save_baseline(default_baseline(frame[contract.target.name], contract), baseline_output)
    print(
        f"Wrote {output}: {len(contract.features)} features, target '{contract.target.name}' "
        f"({contract.problem_type.value}). Review its ranges and categories, then commit it.\n"
        f"Wrote {baseline_output}: a baseline with no rules yet (it answers from the "
        "fallback); add rules a domain expert would apply."
    )
    return 0


def _contract_show(args: argparse.Namespace, settings: Settings) -> int:
    contract = DataContract.load(settings.contract_path)
    print(f"{settings.contract_path}: {contract.name} ({contract.problem_type.value})")
    print(f"  id column: {contract.id_column or '(none)'}")
    print(f"  target:    {contract.target.name}")
    for feature in contract.features:
        if feature.values:
            allowed = ", ".join(feature.values)
        elif feature.type in ("integer", "number"):
            allowed = f"{feature.minimum:g} .. {feature.maximum:g}"
        else:
            allowed = "true, false"
        nullable = ", nullable" if feature.nullable else ""
        print(f"  - {feature.name}: {feature.type.value}{nullable} [{allowed}]")
    return 0


def _sample_data(args: argparse.Namespace, settings: Settings) -> int:
    problem_type = args.problem_type or DataContract.load(settings.contract_path).problem_type
    if args.rows is None:
        for path in write_sample(problem_type, settings.sample_data_dir):
            print(f"Wrote {path}")
        return 0
    if args.output is None:
        print("--rows needs --output FILE (.csv or .parquet).", file=sys.stderr)
        return 2
    write_table(generate(problem_type, args.rows, args.seed), args.output)
    print(f"Wrote {args.output}: {args.rows} rows of the sample schema ({problem_type.value})")
    return 0


def _bootstrap(args: argparse.Namespace, settings: Settings) -> int:
    from .registry import bootstrap  # noqa: PLC0415 - MLflow is slow to import

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)  # no pip in uv venvs
    champion, registered = bootstrap(settings, DataContract.load(settings.contract_path))
    state = "registered the baseline as" if registered else "already has a champion:"
    print(
        f"{settings.mlflow_tracking_uri}: {state} {settings.model_name} version "
        f"{champion.version} (alias champion)"
    )
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:  # noqa: RET503 - execv
    beside_python = Path(sys.executable).with_name("bentoml")
    bentoml = str(beside_python) if beside_python.exists() else shutil.which("bentoml")
    if bentoml is None:
        print("bentoml is not installed: run `make setup`.", file=sys.stderr)
        return 1
    command = [bentoml, "serve", f"{PACKAGE}.service:PredictionService"]
    command += ["--port", str(args.port), "--host", args.host]
    os.execv(bentoml, command)  # noqa: S606 - replaces this process with the server


def _predict(args: argparse.Namespace, settings: Settings) -> int:
    from .registry import load_serving_model  # noqa: PLC0415 - MLflow is slow to import

    contract = DataContract.load(settings.contract_path)
    model = load_serving_model(settings, contract)
    if model.degraded:
        print(f"warning: scoring with the baseline files: {model.reason}", file=sys.stderr)
    result = score_file(
        model,
        contract,
        args.path,
        output=args.output,
        threshold=settings.review_threshold,
        reports=settings.reports_dir / "validation",
    )
    flagged = int(result["needs_review"].sum())
    print(
        f"Wrote {args.output}: {len(result)} rows scored by {model.name} version "
        f"{model.version}; {flagged} flagged needs_review."
    )
    return 0


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    contract = DataContract.load(settings.contract_path)
    report = validate(
        read_table(args.path), contract, source=str(args.path), require_target=args.require_target
    )
    json_path, html_path = report.write(settings.reports_dir / "validation")
    stream = sys.stdout if report.passed else sys.stderr
    print(report.summary(), file=stream)
    print(f"Reports: {html_path} (people), {json_path} (machines)", file=stream)
    return 0 if report.passed else 1


def _settings(args: argparse.Namespace, settings: Settings) -> int:
    document = Settings.model_json_schema() if args.schema else settings.model_dump(mode="json")
    print(json.dumps(document, indent=2))
    return 0


def _planned(command: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        print(
            f"`{command}` ({PLANNED[command]}) is not part of this project yet. "
            "It arrives with a later version of the template: run `copier update`.",
            file=sys.stderr,
        )
        return 1

    return handler


USER_ERRORS = (BaselineError, ContractError, DataFileError, DataValidationError, InferenceError)
"""Errors about the team's files or data: one line on stderr, exit code 1, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per task a team runs."""
    parser = argparse.ArgumentParser(
        description="Production-first ML service: data contract, validation, serving, retraining.",
        epilog="Settings come from APP_* environment variables or .env; see `settings --schema`.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    contract = commands.add_parser("contract", help="write or show the data contract")
    contract_commands = contract.add_subparsers(title="contract commands", required=True)
    infer = contract_commands.add_parser(
        "infer",
        help="write a contract from a CSV or Parquet file",
        description="Write a data contract from your own data: types, observed ranges, categories "
        "and missing values. Review the result before committing it.",
    )
    infer.add_argument("path", type=Path, help="CSV or Parquet file with the target column")
    infer.add_argument("--target", required=True, help="column the model predicts")
    infer.add_argument("--id-column", help="column that identifies a row (not a feature)")
    infer.add_argument(
        "--exclude", action="append", default=[], metavar="COLUMN", help="leave a column out"
    )
    infer.add_argument(
        "--problem-type",
        type=ProblemType,
        choices=list(ProblemType),
        help="force the problem type instead of guessing it from the target",
    )
    infer.add_argument("--name", help="contract name (default: the file's name)")
    infer.add_argument("--output", type=Path, help="where to write (default: APP_CONTRACT_PATH)")
    infer.add_argument("--force", action="store_true", help="replace an existing contract")
    infer.set_defaults(handler=_contract_infer)
    show = contract_commands.add_parser("show", help="check the contract and print a summary")
    show.set_defaults(handler=_contract_show)

    sample = commands.add_parser(
        "sample-data",
        help="regenerate the sample data, or write a larger dataset of the same schema",
        description="Without --rows, rewrite data/sample/ exactly as shipped. With --rows and "
        "--output, write that many labelled rows (for load tests and benchmarks).",
    )
    sample.add_argument("--rows", type=int, help="number of rows to write")
    sample.add_argument("--output", type=Path, help="file to write (.csv or .parquet)")
    sample.add_argument("--seed", type=int, default=SEED, help="random seed (default: %(default)s)")
    sample.add_argument(
        "--problem-type",
        type=ProblemType,
        choices=list(ProblemType),
        help="target to generate (default: the contract's)",
    )
    sample.set_defaults(handler=_sample_data)

    bootstrap = commands.add_parser(
        "bootstrap",
        help="register the baseline as the champion if the registry has none",
        description="Register the baseline rules as a model version in MLflow and point the "
        "`champion` alias at it, unless a champion exists already. `make setup` runs this.",
    )
    bootstrap.set_defaults(handler=_bootstrap)

    serve = commands.add_parser(
        "serve",
        help="serve predictions (BentoML) from the champion",
        description="Start the prediction service: POST /predict, POST /feedback, GET /model, "
        "/livez, /readyz, /metrics. OpenAPI docs at /docs.",
    )
    serve.add_argument("--port", type=int, default=3000, help="port (default: %(default)s)")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    serve.set_defaults(handler=_serve)

    predict = commands.add_parser(
        "predict",
        help="score a CSV or Parquet file with the champion",
        description="Validate the file with the contract's suite (nothing is scored if a row "
        "fails), then write the input with prediction, confidence, needs_review and explanation.",
    )
    predict.add_argument("path", type=Path, help="CSV or Parquet file of records")
    predict.add_argument("--output", type=Path, required=True, help="file to write")
    predict.set_defaults(handler=_predict)

    validate = commands.add_parser(
        "validate",
        help="check a CSV or Parquet file against the contract (Great Expectations)",
        description="Run the expectation suite derived from the contract (plus "
        "custom_expectations.py). Exit 0 when every expectation holds; otherwise exit 1 and name "
        "each failed expectation, its column, the share of bad rows and examples. Writes an "
        "HTML and a JSON report under APP_REPORTS_DIR/validation/.",
    )
    validate.add_argument("path", type=Path, help="CSV or Parquet file")
    validate.add_argument(
        "--require-target", action="store_true", help="the target column must be there too"
    )
    validate.set_defaults(handler=_validate)

    settings = commands.add_parser("settings", help="print the current settings as JSON")
    settings.add_argument("--schema", action="store_true", help="print the JSON schema instead")
    settings.set_defaults(handler=_settings)

    for command, summary in PLANNED.items():
        planned = commands.add_parser(command, help=f"{summary} (not available yet)")
        planned.set_defaults(handler=_planned(command), accepts_anything=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "accepts_anything", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    handler: Handler = args.handler
    try:
        return handler(args, Settings())
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
