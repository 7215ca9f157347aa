"""The project's single command line: ``uv run <package> --help``.

Every ``make`` target and every CI step calls one of these subcommands.
"""

import argparse
import json
import logging
import os
import re
import shutil
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ..config.settings import HOLDOUT_SPLIT, PACKAGE, Settings
from ..config.training import TrainingConfig, TrainingConfigError, write_behaviour_checks
from ..contract.data_contract import ContractError, DataContract, ProblemType
from ..contract.inference import InferenceError, infer_contract
from ..contract.project_files import set_env, update_readme_request
from ..core.errors import MonitoringError, PromotionError, ReferenceDataError, RetrainingError
from ..core.process_defaults import apply_process_defaults
from ..core.process_supervision import supervise
from ..data.files import DataFileError, read_table, read_written, write_table
from ..data.sample import SEED, generate, write_sample
from ..data.validation import DataValidationError, validate
from ..models.baseline import BaselineError, save_baseline
from ..serving.api_auth import Permission, TokenError, is_loopback, new_token, parse_tokens
from ..serving.batch_scoring import score_file
from ..serving.smoke_test import SmokeTestError, smoke_test

if TYPE_CHECKING:
    from ..monitoring.report import Trigger

Handler = Callable[[argparse.Namespace, Settings], int]


def _contract_infer(args: argparse.Namespace, settings: Settings) -> int:
    from ..models.baseline_fitting import behaviour_checks, learn_baseline  # noqa: PLC0415 - scikit-learn

    output: Path = args.output or settings.contract_path
    baseline_output = output.with_name("baseline.yaml") if args.output else settings.baseline_path
    existing = [str(path) for path in (output, baseline_output) if path.exists()]
    if existing and not args.force:
        print(
            f"{' and '.join(existing)} exist(s); pass --force to replace them (and the behaviour "
            "checks in the training configuration), or --output to write elsewhere.",
            file=sys.stderr,
        )
        return 1
    frame = read_table(args.path)
    inference = infer_contract(
        frame,
        name=args.name or args.path.stem,
        target=args.target,
        id_column=args.id_column,
        exclude=tuple(args.exclude),
        categories=tuple(args.category),
        problem_type=args.problem_type,
        written=read_written(args.path),
    )
    contract = inference.contract
    rules, regions = learn_baseline(frame, contract)
    contract.save(output)
    save_baseline(rules, baseline_output)
    print(
        f"Read {args.path}: {len(frame)} rows. Wrote {output}: {len(contract.features)} features, "
        f"target '{contract.target.name}' ({contract.problem_type.value})."
    )
    for decision in inference.decisions:
        print(f"  - {decision.describe()}")
    how = f"{len(rules.rules)} rules learned from the data" if rules.rules else "no rules"
    print(f"Wrote {baseline_output}: {how}, then the fallback; edit them as a domain expert would.")
    if args.output:
        print(f"Left {settings.training_config_path} and .env as they are (--output given).")
    else:
        checks = behaviour_checks(regions, contract)
        write_behaviour_checks(settings.training_config_path, checks, contract)
        print(
            f"Wrote {settings.training_config_path}: {len(checks)} behaviour check(s) from the "
            "data; its outcome, estimator and margins are left as they were."
        )
        holdout = str(args.holdout) if args.holdout else HOLDOUT_SPLIT
        set_env(Path(".env"), {"APP_TRAINING_DATA": str(args.path), "APP_HOLDOUT_DATA": holdout})
        print(f"Wrote .env: APP_TRAINING_DATA={args.path}, APP_HOLDOUT_DATA={holdout}.")
        if update_readme_request(Path("README.md"), contract):
            print("Wrote README.md: its example request uses the new fields.")
    print(
        "Next: review the contract, commit it, then `make rebaseline` to serve the new baseline "
        "(history is kept) and `make validate` to check your files."
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
            low = "no minimum" if feature.minimum is None else f"{feature.minimum:g}"
            high = "no maximum" if feature.maximum is None else f"{feature.maximum:g}"
            allowed = f"{low} .. {high}"
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
    from ..models.registry import bootstrap  # noqa: PLC0415 - MLflow is slow to import

    champion, registered = bootstrap(settings, DataContract.load(settings.contract_path))
    state = "registered the baseline as" if registered else "already has a champion:"
    print(
        f"{settings.mlflow_tracking_uri}: {state} {settings.model_name} version "
        f"{champion.version} (alias champion)"
    )
    return 0


def _rebaseline(args: argparse.Namespace, settings: Settings) -> int:
    from ..training.promotion import rebaseline  # noqa: PLC0415 - MLflow is slow to import

    move = rebaseline(settings, DataContract.load(settings.contract_path))
    print(
        f"{settings.mlflow_tracking_uri}: registered the baseline of {settings.contract_path} as "
        f"{settings.model_name} version {move.current} (alias champion; version {move.previous} "
        f"stays in the history). Running services switch within "
        f"{settings.model_refresh_seconds:g} s."
    )
    return 0


def _installed(command: str) -> str | None:
    """The command installed beside this Python (the project's environment), else on PATH."""
    beside_python = Path(sys.executable).with_name(command)
    return str(beside_python) if beside_python.exists() else shutil.which(command)


def _serve(args: argparse.Namespace, settings: Settings) -> int:  # noqa: RET503 - execv
    bentoml = _installed("bentoml")
    if bentoml is None:
        print("bentoml is not installed: run `make setup`.", file=sys.stderr)
        return 1
    tokens = parse_tokens(settings.api_tokens.get_secret_value())  # a bad entry stops here
    if not tokens and not settings.allow_anonymous and not is_loopback(args.host):
        print(
            f"serve: listening on {args.host} needs callers to authenticate: set APP_API_TOKENS "
            "(`make token NAME=<caller>` prints an entry), or APP_ALLOW_ANONYMOUS=true if a "
            "gateway authenticates them (unsafe otherwise).",
            file=sys.stderr,
        )
        return 1
    command = [bentoml, "serve", f"{PACKAGE}.serving.service:PredictionService"]
    command += ["--port", str(args.port), "--host", args.host]
    os.execv(bentoml, command)  # noqa: S606 - replaces this process with the server


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    prefect = _installed("prefect")
    if prefect is None:
        print("prefect is not installed: run `make setup`.", file=sys.stderr)
        return 1
    from prefect.settings import get_current_settings  # noqa: PLC0415 - slow to import

    if not get_current_settings().api.url:  # from the environment or .env
        print(
            "`worker` needs a Prefect server: set PREFECT_API_URL (e.g. "
            "http://127.0.0.1:4200/api), then deploy the flow with `retrain --deploy`.",
            file=sys.stderr,
        )
        return 1
    command = [prefect, "worker", "start", "--pool", settings.retrain_work_pool]
    command += ["--type", "process", "--name", args.name or f"{PACKAGE}-{os.getpid()}"]
    # A flow run stopped by SIGTERM goes back to the server as Scheduled, for the next worker.
    env = {"PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR": "reschedule", **os.environ}
    return supervise(command, env, settings.worker_stop_seconds, "worker")


def _predict(args: argparse.Namespace, settings: Settings) -> int:
    from ..models.registry import load_serving_model  # noqa: PLC0415 - MLflow is slow to import

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
        extra_columns=settings.extra_fields,
    )
    flagged = int(result["needs_review"].sum())
    print(
        f"Wrote {args.output}: {len(result)} rows scored by {model.name} version "
        f"{model.version}; {flagged} flagged needs_review."
    )
    return 0


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    contract = DataContract.load(settings.contract_path)
    paths = [args.path] if args.path else [settings.training_data, settings.holdout_data]
    if not args.path and settings.holdout_data == Path(HOLDOUT_SPLIT):
        paths = paths[:1]  # held out from the training data, which is checked
    require_target = args.require_target or not args.path
    failed = 0
    for path in paths:
        frame = read_table(path, contract.text_columns)
        report = validate(
            frame,
            contract,
            source=str(path),
            require_target=require_target,
            extra_columns=settings.extra_fields,
        )
        json_path, html_path = report.write(settings.reports_dir / "validation")
        stream = sys.stdout if report.passed else sys.stderr
        print(report.summary(), file=stream)
        print(f"Reports: {html_path} (people), {json_path} (machines)", file=stream)
        failed += not report.passed
    return 1 if failed else 0


def _drift_trigger() -> "Trigger":
    from ..training.flow import drift_trigger  # noqa: PLC0415 - Prefect is slow to import

    return drift_trigger


def _monitor(args: argparse.Namespace, settings: Settings) -> int:
    from ..models.registry import champion_reference  # noqa: PLC0415
    from ..monitoring.alerts import notifiers  # noqa: PLC0415 - the monitoring stack is slow to import
    from ..monitoring.report import log_to_mlflow, monitor, write_reports  # noqa: PLC0415

    contract = DataContract.load(settings.contract_path)
    champion, reference = champion_reference(settings)
    if args.reference is not None:
        reference = read_table(args.reference)
    summary, report = monitor(
        settings,
        contract,
        reference,
        model={"name": champion.name, "version": str(champion.version)},
        notify=notifiers(settings),
        trigger=_drift_trigger() if settings.retrain_on_drift else None,
    )
    paths = write_reports(summary, report, settings.reports_dir / "monitoring")
    run_id = log_to_mlflow(settings, summary, paths)
    code = summary.exit_code(settings.monitor_fail_on_drift)
    stream = sys.stdout if code == 0 else sys.stderr
    print(summary.text(), file=stream)
    print(
        f"Reports: {paths['html']} (people), {paths['json']} (machines), {paths['prom']} "
        f"(Prometheus textfile); MLflow run {run_id}",
        file=stream,
    )
    return code


def _simulate_traffic(args: argparse.Namespace, settings: Settings) -> int:
    from ..serving.traffic_simulation import send_traffic  # noqa: PLC0415

    contract = DataContract.load(settings.contract_path)
    source = read_table(args.source or settings.training_data, contract.text_columns)
    try:
        result = send_traffic(
            args.url,
            source,
            contract,
            rows=args.rows,
            strength=args.drift,
            feedback=args.feedback,
            seed=args.seed,
        )
    except httpx.HTTPStatusError as error:
        answer = error.response.text[:300].replace("\n", " ")
        print(
            f"error: {error.request.url} answered {error.response.status_code}: {answer}",
            file=sys.stderr,
        )
        return 1
    except httpx.TransportError as error:
        print(
            f"error: {args.url} not reachable ({error}); start it with `make serve`",
            file=sys.stderr,
        )
        return 1
    print(
        f"Sent {result.records} records (drift strength {args.drift:g}) to {args.url}; "
        f"answered by version(s) {', '.join(sorted(result.versions))}; "
        f"{result.feedback} outcomes sent to /feedback. Now run `make monitor`."
    )
    return 0


def _retrain(args: argparse.Namespace, settings: Settings) -> int:
    from ..training.flow import (  # noqa: PLC0415 - Prefect is slow to import
        deploy_to_work_pool,
        retrain,
        serve_deployment,
        training_source,
    )

    if args.serve:
        serve_deployment(settings)
        return 0
    if args.deploy:
        name = deploy_to_work_pool(settings, Path.cwd())
        print(
            f"Deployed '{name}' to work pool '{settings.retrain_work_pool}' (schedule "
            f"'{settings.retrain_cron}', and on every drift alert). Start a worker that runs "
            f"it with `make worker`; run it now with `uv run prefect deployment run '{name}'`."
        )
        return 0
    # Checked before the flow starts: a mistake in the files is one line, not a flow's traceback.
    contract = DataContract.load(settings.contract_path)
    TrainingConfig.load(settings.training_config_path, contract)
    training_source(settings, str(args.data) if args.data else None)
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logging.getLogger(name).addFilter(_no_traceback_for_user_errors)
    result = retrain(str(args.data) if args.data else None)
    verdict = "promoted to champion" if result["promoted"] else "refused"
    print(
        f"Candidate version {result['candidate_version']} {verdict}: {result['reason']}\n"
        f"Champion now: version {result['champion']}. Report: {result['report']}"
    )
    return 1 if args.require_promotion and not result["promoted"] else 0


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def _quiet_libraries() -> None:
    """MLflow's INFO lines and its warning that uv's environments lack pip, off.

    ``MLFLOW_LOGGING_LEVEL=INFO`` brings the INFO lines back.
    """
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("mlflow.utils.environment").addFilter(_errors_only)


def _no_traceback_for_user_errors(record: logging.LogRecord) -> bool:
    """Prefect logs a failed run with its traceback; for a bad file, the message is enough."""
    if record.exc_info and isinstance(record.exc_info[1], USER_ERRORS):
        record.exc_info, record.exc_text = None, None
    return True


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from ..models.registry import CHALLENGER, aliased_version, connect  # noqa: PLC0415
    from ..monitoring.comparison import compare  # noqa: PLC0415 - MLflow is slow to import

    version = str(args.version) if args.version else None
    if version is None:
        challenger = aliased_version(connect(settings), settings, CHALLENGER)
        if challenger is None:
            print("No challenger: `make retrain` sets one (or give --version).", file=sys.stderr)
            return 1
        version = str(challenger.version)
    result = compare(
        settings.prediction_log_url, DataContract.load(settings.contract_path), version
    )
    path = result.write(settings.reports_dir / "comparison")
    print(f"{result.text()}\nReport: {path}")
    return 0


def _promote(args: argparse.Namespace, settings: Settings) -> int:
    from ..training.promotion import promote  # noqa: PLC0415 - MLflow is slow to import

    move = promote(settings, str(args.version))
    print(
        f"{settings.model_name}: champion is version {move.current} (was {move.previous}). "
        f"Running services switch within {settings.model_refresh_seconds:g} s."
    )
    return 0


def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    from ..training.promotion import rollback  # noqa: PLC0415 - MLflow is slow to import

    move = rollback(settings, DataContract.load(settings.contract_path))
    print(
        f"{settings.model_name}: rolled back from version {move.previous} to version "
        f"{move.current}, which now serves (running services switch within "
        f"{settings.model_refresh_seconds:g} s)."
    )
    return 0


def _smoke_test(args: argparse.Namespace, settings: Settings) -> int:
    with httpx.Client(base_url=args.url, timeout=30) as client:
        answered = smoke_test(client, DataContract.load(settings.contract_path), args.wait)
    print(f"{args.url}: ready, and one prediction answered by {answered}")
    return 0


def _settings(args: argparse.Namespace, settings: Settings) -> int:
    document = Settings.model_json_schema() if args.schema else masked(settings)
    print(json.dumps(document, indent=2))
    return 0


def masked(settings: Settings) -> dict[str, Any]:
    """The settings with their secrets hidden: tokens, passwords in URLs, webhook paths."""
    document: dict[str, Any] = settings.model_dump(mode="json")  # SecretStr: **********
    for name, value in document.items():
        if isinstance(value, str):
            document[name] = re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", value)
    if settings.alert_webhook_url is not None:  # chat webhooks carry their secret in the path
        url = settings.alert_webhook_url
        document["alert_webhook_url"] = f"{url.scheme}://{url.host}/***"
    return document


def _token(args: argparse.Namespace, settings: Settings) -> int:
    token, entry = new_token(args.name, [Permission(scope) for scope in args.scopes])
    print(f"Token for {args.name} (give it to the caller; it is not kept anywhere): {token}")
    print(f"Its entry for APP_API_TOKENS (holds only its digest): {entry}")
    return 0


USER_ERRORS = (
    TokenError,
    BaselineError,
    ContractError,
    DataFileError,
    DataValidationError,
    InferenceError,
    MonitoringError,
    PromotionError,
    ReferenceDataError,
    RetrainingError,
    SmokeTestError,
    TrainingConfigError,
)
"""Errors about the team's files or data: one line on stderr, exit code 1, no traceback."""


def _add_monitoring_commands(commands: "argparse._SubParsersAction[Any]") -> None:
    monitor = commands.add_parser(
        "monitor",
        help="check recent predictions for drift against the champion's reference data",
        description="Read the latest predictions from the prediction log (APP_MONITOR_WINDOW_*), "
        "validate them with the contract's suite, compare them with the champion's reference "
        "data (Evidently: per-feature and prediction drift), add live performance from "
        "/feedback, write reports under APP_REPORTS_DIR/monitoring/ and log them to MLflow. "
        "Alerts go to the log and APP_ALERT_WEBHOOK_URL.",
        epilog="Exit codes: 0 no drift; 1 drift alert (unless APP_MONITOR_FAIL_ON_DRIFT=false) "
        "or invalid data; 3 too little data in the window to judge.",
    )
    monitor.add_argument(
        "--reference",
        type=Path,
        help="compare with this CSV or Parquet file instead of the champion's reference data",
    )
    monitor.set_defaults(handler=_monitor)

    simulate = commands.add_parser(
        "simulate-traffic",
        help="send (optionally drifted) requests to a running service",
        description="Draw records from a labelled file, shift them by --drift (0: as they are; "
        "1: numbers up one standard deviation, half of the categories changed) and POST them "
        "to /predict, so that `monitor` has traffic to judge.",
    )
    simulate.add_argument(
        "--url", default="http://127.0.0.1:3000", help="service URL (default: %(default)s)"
    )
    simulate.add_argument("--rows", type=int, default=500, help="records to send (default: 500)")
    simulate.add_argument(
        "--drift", type=float, default=1.0, help="shift strength, 0 for none (default: 1)"
    )
    simulate.add_argument(
        "--feedback", action="store_true", help="also send each record's true outcome"
    )
    simulate.add_argument("--source", type=Path, help="labelled file (default: APP_TRAINING_DATA)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    simulate.set_defaults(handler=_simulate_traffic)

    smoke = commands.add_parser(
        "smoke-test",
        help="check a deployed service: ready, and one valid prediction",
        description="Wait until URL/readyz answers 200, then POST one example record to "
        "/predict; exit 1 with the reason if either fails. CD runs it after each deployment.",
    )
    smoke.add_argument("--url", required=True, help="base URL of the service")
    smoke.add_argument(
        "--wait", type=float, default=60, help="seconds to wait for /readyz (default: 60)"
    )
    smoke.set_defaults(handler=_smoke_test)


def _add_retraining_commands(commands: "argparse._SubParsersAction[Any]") -> None:
    retrain = commands.add_parser(
        "retrain",
        help="validate data, train a candidate, compare it with the champion, promote or refuse",
        description="Run the retraining flow (Prefect): validate DATA (default: "
        "APP_TRAINING_DATA) with the contract's suite, train the estimator of "
        "config/training.yaml, evaluate candidate and champion on the held-out set and the "
        "behaviour checks, register the candidate as `challenger`, and promote it only if it "
        "beats the champion by the configured margin. Invalid data stops before training.",
    )
    retrain.add_argument("data", nargs="?", type=Path, help="CSV or Parquet file of labelled rows")
    retrain.add_argument(
        "--serve",
        action="store_true",
        help="deploy the flow on the Prefect server (PREFECT_API_URL) with its schedule and "
        "the drift trigger, and run it there until stopped",
    )
    retrain.add_argument(
        "--deploy",
        action="store_true",
        help="deploy the flow to the work pool APP_RETRAIN_WORK_POOL on the Prefect server "
        "(PREFECT_API_URL) with its schedule and the drift trigger, then exit; `worker` runs it",
    )
    retrain.add_argument(
        "--require-promotion",
        action="store_true",
        help="exit 1 when the candidate is refused (the evaluation gate of `make ci`)",
    )
    retrain.set_defaults(handler=_retrain)

    compare = commands.add_parser(
        "compare",
        help="champion against challenger on the same live requests (shadow mode)",
        description="Pair the challenger's shadow predictions with the champion's answers to the "
        "same requests: agreement rate and, where /feedback arrived, accuracy (or MAE) of each. "
        "Writes APP_REPORTS_DIR/comparison/comparison.json.",
    )
    compare.add_argument("--version", type=int, help="challenger version (default: the alias)")
    compare.set_defaults(handler=_compare)

    worker = commands.add_parser(
        "worker",
        help="run the deployed retraining flow's runs (a Prefect worker of the work pool)",
        description="Start a Prefect process worker for APP_RETRAIN_WORK_POOL on the server "
        "PREFECT_API_URL: it runs the flow runs of `retrain --deploy`'s deployment (scheduled, "
        "started from the UI or by a drift alert) in this environment. Stop it with Ctrl-C.",
    )
    worker.add_argument("--name", help="worker name shown in the Prefect UI")
    worker.set_defaults(handler=_worker)

    promote = commands.add_parser(
        "promote",
        help="make a model version the champion",
        description="Point the `champion` alias at VERSION; the current champion stays in the "
        "history, so `rollback` can bring it back.",
    )
    promote.add_argument("version", type=int, help="registered model version")
    promote.set_defaults(handler=_promote)

    rollback = commands.add_parser(
        "rollback",
        help="move the champion back to the previous champion",
        description="Point the `champion` alias at the version that was champion before the "
        "current one, and say which version now serves.",
    )
    rollback.set_defaults(handler=_rollback)


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
    infer.add_argument(
        "--id-column",
        help="column that identifies a row, not a feature (default: a text column with a "
        "distinct value on every row, if there is one)",
    )
    infer.add_argument(
        "--exclude", action="append", default=[], metavar="COLUMN", help="leave a column out"
    )
    infer.add_argument(
        "--problem-type",
        type=ProblemType,
        choices=list(ProblemType),
        help="force the problem type instead of guessing it from the target",
    )
    infer.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="COLUMN",
        help="read a column as a category whatever it holds (a numeric code)",
    )
    infer.add_argument(
        "--holdout",
        type=Path,
        help="a held-out file of the same table for retraining's evaluation (default: 20%% of "
        "the training data)",
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

    rebaseline = commands.add_parser(
        "rebaseline",
        help="register the baseline of the current contract and make it the champion",
        description="After `contract infer` (or a change of features): register the baseline "
        "rules with the current contract's signature and APP_TRAINING_DATA as reference data, and "
        "point `champion` at it. The champion before stays in the history.",
    )
    rebaseline.set_defaults(handler=_rebaseline)

    serve = commands.add_parser(
        "serve",
        help="serve predictions (BentoML) from the champion",
        description="Start the prediction service: POST /predict, POST /feedback, GET /model, "
        "/livez, /readyz, /metrics. OpenAPI docs at /docs.",
    )
    serve.add_argument("--port", type=int, default=3000, help="port (default: %(default)s)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface (default: %(default)s); any other needs APP_API_TOKENS",
    )
    serve.set_defaults(handler=_serve)

    token = commands.add_parser(
        "token",
        help="print a new random API token and its APP_API_TOKENS entry",
        description="Print a new token for a caller, and the entry to add to APP_API_TOKENS "
        "(comma-separated). The entry holds the token's SHA-256 digest, not the token.",
    )
    token.add_argument("name", help="the caller, as the prediction log will name it")
    token.add_argument(
        "--scopes",
        nargs="+",
        choices=[permission.value for permission in Permission],
        default=[Permission.PREDICT.value],
        help="what it may do (default: predict); admin may do everything",
    )
    token.set_defaults(handler=_token)

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
    validate.add_argument(
        "path",
        type=Path,
        nargs="?",
        help="CSV or Parquet file (default: APP_TRAINING_DATA and APP_HOLDOUT_DATA, with target)",
    )
    validate.add_argument(
        "--require-target", action="store_true", help="the target column must be there too"
    )
    validate.set_defaults(handler=_validate)

    _add_monitoring_commands(commands)

    settings = commands.add_parser("settings", help="print the current settings as JSON")
    settings.add_argument("--schema", action="store_true", help="print the JSON schema instead")
    settings.set_defaults(handler=_settings)

    _add_retraining_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    apply_process_defaults()  # before any command imports the stack's libraries
    _quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, Settings())
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug, or a failure this command does not know: still one line
        if os.environ.get("APP_TRACEBACK"):
            raise
        frames = traceback.extract_tb(error.__traceback__)
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        print(
            f"error: unexpected {type(error).__name__}: {error}{where}. Run again with "
            "APP_TRACEBACK=1 for the traceback, and report it if it is a bug.",
            file=sys.stderr,
        )
        return 1
