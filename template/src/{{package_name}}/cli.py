"""The project's single command line: ``uv run <package> --help``.

Every ``make`` target and every CI step calls one of these subcommands.
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .contract import ContractError, DataContract, ProblemType
from .contract_inference import InferenceError, infer_contract
from .datasets import DataFileError, read_table, write_table
from .sample_data import SEED, generate, write_sample
from .settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]

PLANNED = {
    "serve": "serve predictions with BentoML",
    "validate": "check a data file against the contract with Great Expectations",
    "predict": "score a file in batch",
    "monitor": "compare recent predictions with the reference data (Evidently)",
    "retrain": "run the retraining flow (Prefect)",
    "promote": "make a model version the champion",
    "rollback": "move the champion back to the previous version",
}
"""Commands this template version reserves but does not provide yet."""


def _contract_infer(args: argparse.Namespace, settings: Settings) -> int:
    output: Path = args.output or settings.contract_path
    if output.exists() and not args.force:
        print(
            f"{output} exists; pass --force to replace it, or --output to write elsewhere.",
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
    print(
        f"Wrote {output}: {len(contract.features)} features, target '{contract.target.name}' "
        f"({contract.problem_type.value}). Review its ranges and categories, then commit it."
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
    except (ContractError, DataFileError, InferenceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
