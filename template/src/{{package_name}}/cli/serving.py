"""`serve`, `token`, `predict`, `smoke-test` and `simulate-traffic`: the service and its callers."""

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Literal

import httpx
from cyclopts import Parameter

from ..config.settings import PACKAGE, Engine, Settings
from ..contract.data_contract import DataContract
from ..core.errors import UserError
from ..data.files import read_table
from ..serving.api_auth import Permission, is_loopback, new_token, parse_tokens
from ..serving.batch_scoring import score_file
from ..serving.smoke_test import CLIENT_TOKEN_HINTS
from ..serving.smoke_test import smoke_test as check_service
from ..serving.traffic_simulation import send_traffic
from .data import data_source

Scope = Literal["predict", "feedback", "metrics", "admin"]


def installed(command: str) -> str | None:
    """The path of ``command`` in this environment (next to Python), else on PATH."""
    beside_python = Path(sys.executable).with_name(command)
    return str(beside_python) if beside_python.exists() else shutil.which(command)


def serve(*, port: int = 3000, host: str = "127.0.0.1") -> int:  # noqa: RET503 - execv
    """Serve predictions (BentoML) from the registry's champion.

    POST /predict, POST /feedback, GET /model, /livez, /readyz, /metrics; OpenAPI docs at
    /docs. Without APP_API_TOKENS only callers on this machine are answered, and any interface
    but loopback is refused.

    Example: serve --host 0.0.0.0 --port 3000

    Parameters
    ----------
    port
        Port to listen on.
    host
        Interface to listen on; any other than loopback needs APP_API_TOKENS.
    """
    settings = Settings()
    bentoml = installed("bentoml")
    if bentoml is None:
        print("bentoml is not installed: run `make setup`.", file=sys.stderr)
        return 1
    tokens = parse_tokens(settings.api_tokens.get_secret_value())  # a bad entry stops here
    if not tokens and not settings.allow_anonymous and not is_loopback(host):
        print(
            f"serve: listening on {host} needs callers to authenticate: set APP_API_TOKENS "
            "(`make token NAME=<caller>` prints an entry), or APP_ALLOW_ANONYMOUS=true if a "
            "gateway authenticates them (unsafe otherwise).",
            file=sys.stderr,
        )
        return 1
    command = [bentoml, "serve", f"{PACKAGE}.serving.service:PredictionService"]
    command += ["--port", str(port), "--host", host]
    env = {**os.environ, "BENTOML_HOME": str(service_home(host, port))}
    os.execve(bentoml, command, env)  # noqa: S606 - replaces this process with the server


def service_home(host: str, port: int) -> Path:
    """BentoML's home for the service on ``host:port``: a folder of its own under BENTOML_HOME.

    BentoML keeps the workers' metrics in its home and empties that folder when a service
    starts, so two services sharing a home (two ports, or a test beside `make serve`) would
    wipe and mix each other's counters.
    """
    home = Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")
    return home / "services" / f"{host.replace(':', '_')}-{port}"


def token(
    name: str,
    /,
    *,
    scopes: Annotated[tuple[Scope, ...], Parameter(consume_multiple=True)] = ("predict",),
) -> int:
    """Print a new random API token for a caller, and its entry for APP_API_TOKENS.

    The entry holds the token's SHA-256 digest, not the token; add it to APP_API_TOKENS
    (comma-separated) and give the token to the caller.

    Example: token reporting-job --scopes predict metrics

    Parameters
    ----------
    name
        The caller, as the prediction log will name it.
    scopes
        What it may do; admin may do everything.
    """
    secret, entry = new_token(name, [Permission(scope) for scope in scopes])
    print(f"Token for {name} (give it to the caller; it is not kept anywhere): {secret}")
    print(f"Its entry for APP_API_TOKENS (holds only its digest): {entry}")
    return 0


def predict(
    path: Path | None = None,
    /,
    *,
    output: Path,
    table: str | None = None,
    query: str | None = None,
    engine: Engine = "streamed",
) -> int:
    """Score a file (CSV, Parquet, a Parquet folder) or a database table with the champion.

    Validates the rows with the contract's suite first (nothing is scored if a row fails),
    then writes the input with prediction, confidence, needs_review and explanation. Reads
    APP_CHUNK_ROWS rows at a time: memory stays flat however long the file or table.

    Example: predict data/new_batch.csv --output predictions.csv
    Example: predict --table public.new_batch --output predictions.parquet

    Parameters
    ----------
    path
        CSV or Parquet file of records, or a folder of Parquet files (a partitioned dataset).
    output
        File to write (.csv or .parquet); it appears only once every row is scored.
    table
        A table of the database at APP_SOURCE_DATABASE_URL (schema.name or name), instead of a file.
    query
        A SELECT on that database whose rows are scored, instead of a file.
    engine
        streamed: APP_CHUNK_ROWS rows at a time; pandas: the whole file in memory at once.
    """
    from ..models.registry import load_serving_model  # noqa: PLC0415 - MLflow is slow to import

    settings = Settings()
    source = data_source(settings, path, table, query)
    if source is None:
        raise UserError("predict needs a file of records, or --table/--query")
    contract = DataContract.load(settings.contract_path)
    model = load_serving_model(settings, contract)
    if model.degraded:
        print(f"warning: scoring with the baseline files: {model.reason}", file=sys.stderr)
    result = score_file(
        model,
        contract,
        source,
        output=output,
        threshold=settings.review_threshold,
        reports=settings.reports_dir / "validation",
        chunk_rows=None if engine == "pandas" else settings.chunk_rows,
        extra_columns=settings.extra_fields,
    )
    print(
        f"Wrote {output}: {result.rows} rows scored by {model.name} version "
        f"{model.version}; {result.flagged} flagged needs_review."
    )
    return 0


def smoke_test(*, url: str, wait: float = 60) -> int:
    """Check a deployed service: ready, and one valid prediction.

    Waits until URL/readyz answers 200, then POSTs one example record to /predict; exit 1 with
    the reason if either fails. CD runs it after each deployment.

    Example: smoke-test --url https://churn.example.com

    Parameters
    ----------
    url
        Base URL of the service.
    wait
        Seconds to wait for /readyz.
    """
    settings = Settings()
    contract = DataContract.load(settings.contract_path)
    with _client(url, settings) as client:
        answered = check_service(client, contract, wait)
    print(f"{url}: ready, and one prediction answered by {answered}")
    return 0


def simulate_traffic(
    *,
    url: str = "http://127.0.0.1:3000",
    rows: int = 500,
    drift: float = 1.0,
    feedback: bool = False,
    source: Path | None = None,
    seed: int = 0,
) -> int:
    """Send (optionally drifted) requests to a running service, so that `monitor` has traffic.

    Draws records from a labelled file, shifts them by --drift (0: as they are; 1: numbers up
    one standard deviation, half of the categories changed) and POSTs them to /predict.

    Example: simulate-traffic --rows 1000 --drift 1.5 --feedback

    Parameters
    ----------
    url
        Service URL.
    rows
        Records to send.
    drift
        Shift strength, 0 for none.
    feedback
        Also send each record's true outcome to /feedback.
    source
        Labelled file (default: APP_TRAINING_DATA).
    seed
        Random seed.
    """
    settings = Settings()
    contract = DataContract.load(settings.contract_path)
    records = read_table(source or settings.training_data, contract.text_columns)
    try:
        with _client(url, settings) as client:
            result = send_traffic(
                url,
                records,
                contract,
                rows=rows,
                strength=drift,
                feedback=feedback,
                seed=seed,
                client=client,
            )
    except httpx.HTTPStatusError as error:
        answer = error.response.text[:300].replace("\n", " ")
        print(
            f"error: {error.request.url} answered {error.response.status_code}: {answer}"
            + CLIENT_TOKEN_HINTS.get(error.response.status_code, ""),
            file=sys.stderr,
        )
        return 1
    except httpx.TransportError as error:
        print(f"error: {url} not reachable ({error}); start it with `make serve`", file=sys.stderr)
        return 1
    print(
        f"Sent {result.records} records (drift strength {drift:g}) to {url}; "
        f"answered by version(s) {', '.join(sorted(result.versions))}; "
        f"{result.feedback} outcomes sent to /feedback. Now run `make monitor`."
    )
    return 0


def _client(url: str, settings: Settings) -> httpx.Client:
    """An HTTP client for ``url`` that presents ``APP_CLIENT_TOKEN`` when it is set."""
    token = settings.client_token.get_secret_value()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, timeout=30, headers=headers)
