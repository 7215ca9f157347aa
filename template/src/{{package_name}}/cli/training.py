"""Which model answers, and which did: the commands that move the champion, and `history`."""

import logging
import os
import sys
from pathlib import Path

from ..config.settings import PACKAGE, Settings
from ..config.training import TrainingConfig
from ..contract.data_contract import DataContract
from ..core.errors import UserError
from ..core.process_supervision import supervise
from ..models.registry import bootstrap as register_baseline_once
from ..models.registry import champion_moves, connect
from ..training.promotion import history as past_champions
from ..training.promotion import promote as move_alias
from ..training.promotion import rebaseline as serve_new_baseline
from ..training.promotion import rollback as move_back
from .progress import steps
from .serving import installed

RETRAIN_STEPS = ("check the files", "run the flow: validate, train, evaluate, decide")


def bootstrap() -> int:
    """Register the baseline as the champion if the registry has none.

    Registers the baseline rules as a model version in MLflow and points the `champion` alias
    at it, unless a champion exists already. `make setup` and `make serve` run this.

    Example: bootstrap
    """
    settings = Settings()
    champion, registered = register_baseline_once(
        settings, DataContract.load(settings.contract_path)
    )
    state = "registered the baseline as" if registered else "already has a champion:"
    print(
        f"{settings.mlflow_tracking_uri}: {state} {settings.model_name} version "
        f"{champion.version} (alias champion)"
    )
    return 0


def rebaseline() -> int:
    """Register the baseline of the current contract and make it the champion.

    After `contract infer` (or a change of features): registers the baseline rules with the
    current contract's signature and APP_TRAINING_DATA as reference data, and points `champion`
    at it. The champion before stays in the history.

    Example: rebaseline
    """
    settings = Settings()
    move = serve_new_baseline(settings, DataContract.load(settings.contract_path))
    before = (
        "there was no champion before"
        if move.previous is None
        else f"version {move.previous} stays in the history"
    )
    print(
        f"{settings.mlflow_tracking_uri}: registered the baseline of {settings.contract_path} as "
        f"{settings.model_name} version {move.current} (alias champion; {before}). Running "
        f"services switch within {settings.model_refresh_seconds:g} s."
    )
    return 0


def _no_traceback_for_user_errors(record: logging.LogRecord) -> bool:
    """Prefect logs a failed run with its traceback; for a bad file, the message is enough."""
    if record.exc_info and isinstance(record.exc_info[1], UserError):
        record.exc_info, record.exc_text = None, None
    return True


def retrain(
    data: Path | None = None,
    /,
    *,
    serve: bool = False,
    deploy: bool = False,
    require_promotion: bool = False,
    allow_undecided: bool = False,
) -> int:
    """Validate data, train a candidate, compare it with the champion; promote or refuse.

    Runs the retraining flow (Prefect): validates DATA with the contract's suite, trains the
    estimator of config/training.yaml, evaluates candidate and champion on the held-out set
    and the behaviour checks, and promotes the candidate only if it beats the champion by the
    configured margin (otherwise it stays a registered version, `challenger` if held for
    shadow evidence). Invalid data stops before training.

    Example: retrain data/own/churn_2026q4.csv --require-promotion --allow-undecided

    Parameters
    ----------
    data
        CSV or Parquet file of labelled rows (default: APP_TRAINING_DATA).
    serve
        Deploy the flow on the Prefect server (PREFECT_API_URL) with its schedule and the drift
        trigger, and run it there until stopped.
    deploy
        Deploy the flow to the work pool APP_RETRAIN_WORK_POOL on the Prefect server with its
        schedule and the drift trigger, then exit; `worker` runs it.
    require_promotion
        Exit 1 when the candidate is refused.
    allow_undecided
        With --require-promotion, a candidate the gate could not decide on (too few held-out
        rows, or an interval of its gain across the margin) passes, with the gate's note: the
        evaluation gate of `make ci`, which fails on a candidate refused on the merits.
    """
    # Prefect (the train group) only here: `make serve` runs `bootstrap` without it.
    from ..training.flow import deploy_to_work_pool, serve_deployment, training_source  # noqa: PLC0415
    from ..training.flow import retrain as run_flow  # noqa: PLC0415

    settings = Settings()
    if serve:
        serve_deployment(settings)
        return 0
    if deploy:
        name = deploy_to_work_pool(settings, Path.cwd())
        print(
            f"Deployed '{name}' to work pool '{settings.retrain_work_pool}' (schedule "
            f"'{settings.retrain_cron}', and on every drift alert). Start a worker that runs "
            f"it with `make worker`; run it now with `uv run prefect deployment run '{name}'`."
        )
        return 0
    source = str(data) if data else None
    with steps("retrain", RETRAIN_STEPS) as begin:
        # Checked before the flow starts: a mistake in a file is one line, not a traceback.
        begin("check the files")
        contract = DataContract.load(settings.contract_path)
        TrainingConfig.load(settings.training_config_path, contract)
        training_source(settings, source)
        for logger in ("prefect.task_runs", "prefect.flow_runs"):
            logging.getLogger(logger).addFilter(_no_traceback_for_user_errors)
        begin("run the flow: validate, train, evaluate, decide")
        result = run_flow(source)
    verdict = "promoted to champion" if result["promoted"] else "refused"
    print(
        f"Candidate version {result['candidate_version']} {verdict}: {result['reason']}\n"
        f"Champion now: version {result['champion']}. Report: {result['report']}"
    )
    if not require_promotion or result["promoted"]:
        return 0
    if allow_undecided and result["undecided"]:
        print(
            "The evaluation gate passes: the statistical gate could not decide (--allow-undecided);"
            " more labelled rows will. Nothing was promoted."
        )
        return 0
    return 1


def worker(*, name: str | None = None, healthcheck: bool = False) -> int:
    """Run the deployed retraining flow's runs: a Prefect worker of the work pool.

    Starts a Prefect process worker for APP_RETRAIN_WORK_POOL on the server PREFECT_API_URL: it
    runs the flow runs of `retrain --deploy`'s deployment (scheduled, started from the UI or
    by a drift alert) in this environment. Stop it with Ctrl-C or SIGTERM: a run in progress
    goes back to the server for the next worker.

    Example: worker --name worker-1 --healthcheck

    Parameters
    ----------
    name
        Worker name shown in the Prefect UI.
    healthcheck
        Answer GET /health (200 while the worker polls its pool, 503 when it stopped) on
        PREFECT_WORKER_WEBSERVER_HOST:PREFECT_WORKER_WEBSERVER_PORT (127.0.0.1:8080 unless
        set; the Kubernetes manifest binds the pod's address for its probes).
    """
    settings = Settings()
    prefect = installed("prefect")
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
    command += ["--type", "process", "--name", name or f"{PACKAGE}-{os.getpid()}"]
    if healthcheck:
        command.append("--with-healthcheck")
    env = {
        # A flow run stopped by SIGTERM goes back to the server as Scheduled, for the next one.
        "PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR": "reschedule",
        "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",  # Prefect's default is every interface
        **os.environ,
    }
    return supervise(command, env, settings.worker_stop_seconds, "worker")


def promote(version: int, /) -> int:
    """Make a model version the champion.

    Points the `champion` alias at VERSION; the current champion stays in the history, so
    `rollback` can bring it back. Running services switch within APP_MODEL_REFRESH_SECONDS.

    Example: promote 4

    Parameters
    ----------
    version
        Registered model version.
    """
    settings = Settings()
    move = move_alias(settings, str(version))
    print(
        f"{settings.model_name}: champion is version {move.current} (was {move.previous}). "
        f"Running services switch within {settings.model_refresh_seconds:g} s."
    )
    return 0


def rollback() -> int:
    """Move the champion back to the previous champion.

    Points the `champion` alias at the version that was champion before the current one, and
    says which version now serves.

    Example: rollback
    """
    settings = Settings()
    move = move_back(settings, DataContract.load(settings.contract_path))
    print(
        f"{settings.model_name}: rolled back from version {move.previous} to version "
        f"{move.current}, which now serves (running services switch within "
        f"{settings.model_refresh_seconds:g} s)."
    )
    return 0


def history() -> int:
    """Show every move of the champion, oldest first: when, what, from, to, who and why.

    Promotions (by hand or by retraining), rebaselines and rollbacks each leave a record in the
    registry that nothing rewrites. Moves made before the records existed show as the list of
    versions that were champion.

    Example: history
    """
    settings = Settings()
    client = connect(settings)
    moves = champion_moves(client, settings)
    for move in moves:
        print(
            f"{move['at']}  {move['kind']:<9} {move['from'] or '-'} -> {move['to']}  "
            f"by {move['by']}: {move['why']}"
        )
    if not moves:
        versions = " -> ".join(past_champions(client, settings)) or "none"
        print(f"{settings.model_name}: no recorded moves; champions so far: {versions}")
    return 0
