"""The production-readiness scorecard: each criterion read from evidence the project keeps.

The registry (evaluations, monitoring runs, champion moves, the champion's data), the prediction
log (predictions and feedback), CODEOWNERS, the runbook and the model card, and Prometheus when
it is configured. Nothing is written to any of them: a SQLite file that does not exist yet is
not created, it is evidence that nothing happened.
"""

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..audit.prediction_log import feedback, predictions
from ..config.readiness import CRITERIA, ReadinessConfig
from ..config.settings import PACKAGE, Settings
from ..contract.data_contract import DataContract
from ..core.sqlite_files import sqlite_file
from ..data.sample import fits_sample, is_shipped_sample
from ..models.registry import CHAMPION, aliased_version, champion_moves, tagged_versions

CODEOWNERS = (Path(".github/CODEOWNERS"), Path(".gitlab/CODEOWNERS"), Path("CODEOWNERS"))
RUNBOOK = Path("docs/runbook.md")
MODEL_CARD = Path("docs/model-card.md")
OWNER_LINE = re.compile(r"Owner:\s*\*\*(?P<owner>[^*]+)\*\*\s*(?:\((?P<contact>[^)]*)\))?")
SIGN_OFF = re.compile(r"^## Sign-off\s*$(?P<body>.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


class Status(StrEnum):
    """Where a criterion stands."""

    MET = "met"
    NOT_MET = "not met"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Criterion:
    """One line of the scorecard: its status, the evidence, and how to meet it."""

    name: str
    title: str
    status: Status
    evidence: str
    to_meet: str

    def line(self) -> str:
        """The criterion on one line, for people and CI logs."""
        advice = "" if self.status is Status.MET else f" To meet: {self.to_meet}"
        return f"{self.status.value:<8} {self.title:<21} {self.evidence}.{advice}"


@dataclass(frozen=True)
class Scorecard:
    """Every criterion, when it was checked, and what the gate asks."""

    project: str
    checked_at: str
    criteria: list[Criterion]

    def count(self, status: Status) -> int:
        """How many criteria have ``status``."""
        return sum(criterion.status is status for criterion in self.criteria)

    def blocking(self, config: ReadinessConfig) -> list[Criterion]:
        """What stops the production gate: not met, or unknown where unknown is not allowed."""
        return [
            criterion
            for criterion in self.criteria
            if criterion.status is Status.NOT_MET
            or (
                criterion.status is Status.UNKNOWN
                and criterion.name not in config.gate_allows_unknown
            )
        ]

    def text(self) -> str:
        """A heading and one line per criterion."""
        heading = (
            f"Production readiness of {self.project} at {self.checked_at}: "
            f"{self.count(Status.MET)} of {len(self.criteria)} met"
        )
        return "\n".join([heading, *(criterion.line() for criterion in self.criteria)])

    def document(self) -> dict[str, Any]:
        """The scorecard as JSON-ready data."""
        return {
            "project": self.project,
            "checked_at": self.checked_at,
            "met": self.count(Status.MET),
            "total": len(self.criteria),
            "criteria": [asdict(criterion) for criterion in self.criteria],
        }

    def html(self) -> str:
        """A small page of its own: one table, inline styles, nothing from another origin."""
        rows = "\n".join(
            f'<tr class="{c.status.name.lower()}"><td>{html.escape(c.status.value)}</td>'
            f"<td>{html.escape(c.title)}</td><td>{html.escape(c.evidence)}</td>"
            f"<td>{'' if c.status is Status.MET else html.escape(c.to_meet)}</td></tr>"
            for c in self.criteria
        )
        title = html.escape(f"Production readiness: {self.project}")
        return (
            f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>\n'
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}"
            ".met td:first-child{background:#d7f5d7}.not_met td:first-child{background:#f8d0d0}"
            ".unknown td:first-child{background:#eee}</style>\n"
            f"<h1>{title}</h1><p>Checked {html.escape(self.checked_at)}: "
            f"{self.count(Status.MET)} of {len(self.criteria)} criteria met. "
            "Written by <code>make readiness</code> from the project's own evidence; the "
            "thresholds are in <code>config/readiness.yaml</code>.</p>\n"
            "<table><tr><th>Status</th><th>Criterion</th><th>Evidence</th><th>To meet it</th>"
            f"</tr>\n{rows}\n</table></html>\n"
        )

    def write(self, folder: Path) -> dict[str, Path]:
        """``readiness.json`` and ``readiness.html`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / "readiness.json", "html": folder / "readiness.html"}
        paths["json"].write_text(json.dumps(self.document(), indent=2), "utf-8")
        paths["html"].write_text(self.html(), "utf-8")
        return paths


@dataclass(frozen=True)
class Evidence:
    """Where the scorecard reads from, and the time it judges ages against."""

    settings: Settings
    config: ReadinessConfig
    root: Path
    now: datetime


Check = Callable[[Evidence], Criterion]


def scorecard(
    settings: Settings, config: ReadinessConfig, *, root: Path, now: datetime | None = None
) -> Scorecard:
    """Every criterion of ``CRITERIA``, judged at ``now`` (default: the current time)."""
    evidence = Evidence(settings, config, root, now or datetime.now(UTC))
    checks: dict[str, Check] = {
        "edge_cases": _edge_cases,
        "monitoring": _monitoring,
        "feedback": _feedback,
        "rollback": _rollback,
        "ownership": _ownership,
        "governance": _governance,
        "real_data": _real_data,
        "serving": _serving,
    }
    return Scorecard(
        project=settings.model_name,
        checked_at=f"{evidence.now:%Y-%m-%d %H:%M} UTC",
        criteria=[checks[name](evidence) for name in CRITERIA],
    )


# ------------------------------------------------------------------------------- the registry


class _NoRegistryError(Exception):
    """The registry cannot be read; the message says why."""


def _client(evidence: Evidence) -> MlflowClient:
    """A client of the registry, without creating a local one that does not exist."""
    uri = evidence.settings.mlflow_tracking_uri
    path = sqlite_file(uri)
    if path is not None and not (evidence.root / path).is_file():
        raise _NoRegistryError(f"no registry yet at {path} (`make setup` creates it)")
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _registry_reason(error: Exception) -> str:
    if isinstance(error, _NoRegistryError):
        return str(error)
    return f"the registry did not answer ({type(error).__name__}; check APP_MLFLOW_TRACKING_URI)"


def _age(moment: datetime, now: datetime) -> str:
    hours = (now - moment).total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} days"  # noqa: PLR2004


def _edge_cases(evidence: Evidence) -> Criterion:
    title, to_meet = (
        "Edge-case evaluation",
        "`make retrain` evaluates a candidate on every boundary of the contract and the "
        "behaviour checks of config/training.yaml (schedule it: `make deploy-flow`)",
    )
    limit = timedelta(days=evidence.config.max_evaluation_age_days)
    try:
        evaluated = tagged_versions(_client(evidence), evidence.settings, "evaluated_at")
    except (_NoRegistryError, MlflowException, OSError) as error:
        return Criterion("edge_cases", title, Status.UNKNOWN, _registry_reason(error), to_meet)
    if not evaluated:
        return Criterion(
            "edge_cases", title, Status.NOT_MET, "no candidate has been evaluated yet", to_meet
        )
    last = evaluated[-1]
    when = datetime.fromisoformat(last.tags["evaluated_at"])
    found = (
        f"version {last.version} evaluated {when:%Y-%m-%d %H:%M} UTC ({_age(when, evidence.now)} "
        f"ago, at most {evidence.config.max_evaluation_age_days:g} days): "
        f"{last.tags.get('checks_passed', '?')} checks passed, {last.tags.get('decision', '?')}"
    )
    status = Status.MET if evidence.now - when <= limit else Status.NOT_MET
    return Criterion("edge_cases", title, status, found, to_meet)


def _monitoring(evidence: Evidence) -> Criterion:
    title = "Monitoring"
    to_meet = (
        "run `make monitor` on a schedule against the production prediction log (the "
        "monitoring workflow in CI, or deploy/'s monitoring job)"
    )
    try:
        client = _client(evidence)
        experiment = client.get_experiment_by_name(evidence.settings.model_name)
        runs = (
            []
            if experiment is None
            else client.search_runs(
                [experiment.experiment_id],
                filter_string="tags.kind = 'monitoring'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
        )
    except (_NoRegistryError, MlflowException, OSError) as error:
        return Criterion("monitoring", title, Status.UNKNOWN, _registry_reason(error), to_meet)
    if not runs:
        return Criterion("monitoring", title, Status.NOT_MET, "no monitoring run yet", to_meet)
    run = runs[0]
    when = datetime.fromtimestamp(run.info.start_time / 1000, UTC)
    limit = evidence.config.max_monitoring_age_hours
    found = (
        f"last `make monitor` {when:%Y-%m-%d %H:%M} UTC ({_age(when, evidence.now)} ago, at most "
        f"{limit:g} h): {run.data.tags.get('status', '?')}, champion version "
        f"{run.data.tags.get('champion_version', '?')}"
    )
    fresh = evidence.now - when <= timedelta(hours=limit)
    return Criterion("monitoring", title, Status.MET if fresh else Status.NOT_MET, found, to_meet)


def _rollback(evidence: Evidence) -> Criterion:
    title = "Rollback"
    to_meet = (
        "rehearse it against this registry: `make rollback`, see the service follow "
        "(GET /model), then `make promote VERSION=n` to go forward again (README: "
        "Retraining, promotion and rollback)"
    )
    try:
        rollbacks = [
            move
            for move in champion_moves(_client(evidence), evidence.settings)
            if move.get("kind") == "rollback"
        ]
    except (_NoRegistryError, MlflowException, OSError) as error:
        return Criterion("rollback", title, Status.UNKNOWN, _registry_reason(error), to_meet)
    if not rollbacks:
        return Criterion(
            "rollback", title, Status.NOT_MET, "no rollback recorded in the registry", to_meet
        )
    last = rollbacks[-1]
    found = (
        f"{len(rollbacks)} rollback(s) recorded; the last from version {last['from']} to "
        f"{last['to']} at {last['at']} by {last['by']}"
    )
    return Criterion("rollback", title, Status.MET, found, to_meet)


def _real_data(evidence: Evidence) -> Criterion:
    title = "Real data"
    to_meet = (
        f"`uv run {PACKAGE} contract infer YOUR_TABLE --target COLUMN`, then `make rebaseline` "
        "or `make retrain` (README: Bring your own data)"
    )
    settings = evidence.settings
    contract = DataContract.load(evidence.root / settings.contract_path)
    if fits_sample(contract):
        found = f"{settings.contract_path} still describes the shipped sample"
        return Criterion("real_data", title, Status.NOT_MET, found, to_meet)
    try:
        client = _client(evidence)
        champion = aliased_version(client, settings, CHAMPION)
        source = (
            None
            if champion is None
            else client.get_run(champion.run_id).data.tags.get("data_source")
        )
    except (_NoRegistryError, MlflowException, OSError) as error:
        return Criterion("real_data", title, Status.UNKNOWN, _registry_reason(error), to_meet)
    if champion is None:
        return Criterion("real_data", title, Status.NOT_MET, "no champion yet", to_meet)
    if source is None:
        found = (
            f"champion version {champion.version} records no data source (registered before 0.3.0)"
        )
        return Criterion("real_data", title, Status.UNKNOWN, found, to_meet)
    shipped = is_shipped_sample(source, settings.sample_data_dir, evidence.root)
    found = f"champion version {champion.version} learned from {source}"
    if shipped:
        return Criterion(
            "real_data", title, Status.NOT_MET, f"{found}, the shipped sample", to_meet
        )
    return Criterion("real_data", title, Status.MET, found, to_meet)


# ---------------------------------------------------------------------- the prediction log


def _feedback(evidence: Evidence) -> Criterion:
    title = "Feedback"
    to_meet = (
        "send each true outcome to POST /feedback (a token with the `feedback` scope) as it "
        "becomes known"
    )
    config = evidence.config
    url = evidence.settings.prediction_log_url.get_secret_value()
    since = evidence.now - timedelta(days=config.feedback_window_days)
    try:
        counted = _count_since(url, evidence.root, since)
    except FileNotFoundError as error:
        return Criterion("feedback", title, Status.NOT_MET, str(error), to_meet)
    except sa.exc.SQLAlchemyError as error:
        found = (
            f"the prediction log did not answer ({type(error).__name__}; "
            "check APP_PREDICTION_LOG_URL)"
        )
        return Criterion("feedback", title, Status.UNKNOWN, found, to_meet)
    answered, outcomes = counted
    share = outcomes / answered if answered else 0.0
    found = (
        f"{outcomes} outcomes for {answered} predictions in the last "
        f"{config.feedback_window_days:g} days ({share:.1%}; at least "
        f"{config.min_feedback_share:.0%} wanted)"
    )
    met = outcomes > 0 and share >= config.min_feedback_share
    return Criterion("feedback", title, Status.MET if met else Status.NOT_MET, found, to_meet)


def _count_since(url: str, root: Path, since: datetime) -> tuple[int, int]:
    """Predictions made since ``since``, and first outcomes received since then."""
    named = sqlite_file(url)
    if named is not None:
        if not (root / named).is_file():
            raise FileNotFoundError(f"no prediction log yet at {named}")
        url = f"sqlite:///file:{root / named}?mode=ro&uri=true"  # read only: never creates
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            present = sa.inspect(connection).get_table_names()
            if not {predictions.name, feedback.name} <= set(present):
                return 0, 0
            answered = connection.execute(
                sa.select(sa.func.count()).where(predictions.c.created_at >= since)
            ).scalar_one()
            outcomes = connection.execute(
                sa.select(sa.func.count()).where(
                    feedback.c.received_at >= since, feedback.c.correction.isnot(True)
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(answered), int(outcomes)


# ------------------------------------------------------------------------ the project's files


def _placeholder(text: str, config: ReadinessConfig) -> str | None:
    lowered = text.lower()
    return next((p for p in config.placeholders if p.lower() in lowered), None)


def _owners(path: Path) -> Iterator[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        rule = line.split("#", 1)[0].split()
        yield from rule[1:]


def _ownership(evidence: Evidence) -> Criterion:
    title = "Ownership"
    codeowners = next((p for p in CODEOWNERS if (evidence.root / p).is_file()), CODEOWNERS[0])
    to_meet = (
        f"name the owning team in {codeowners} and on the Owner line of {RUNBOOK}, with a "
        "contact that reaches them"
    )
    problems: list[str] = []
    owners = (
        sorted(set(_owners(evidence.root / codeowners)))
        if (evidence.root / codeowners).is_file()
        else []
    )
    if not owners:
        problems.append(f"{codeowners} names no owner")
    runbook = evidence.root / RUNBOOK
    named = OWNER_LINE.search(runbook.read_text(encoding="utf-8")) if runbook.is_file() else None
    if named is None:
        problems.append(f"{RUNBOOK} has no Owner line")
    named_values = [] if named is None else [v for v in named.group("owner", "contact") if v]
    placeholders = [
        value for value in [*owners, *named_values] if _placeholder(value, evidence.config)
    ]
    if placeholders:
        problems.append(
            f"placeholders: {', '.join(dict.fromkeys(placeholders))} (config/readiness.yaml)"
        )
    runbook_owner = " ".join(named_values[:1] + [f"({v})" for v in named_values[1:]])
    found = f"{codeowners}: {', '.join(owners) or 'none'}; {RUNBOOK}: {runbook_owner or 'none'}"
    if problems:
        found = f"{found}; {'; '.join(problems)}"
        return Criterion("ownership", title, Status.NOT_MET, found, to_meet)
    return Criterion("ownership", title, Status.MET, found, to_meet)


def _governance(evidence: Evidence) -> Criterion:
    title = "Governance sign-off"
    to_meet = (
        f"risk and compliance fill in the Sign-off table of {MODEL_CARD} (a name and an "
        "ISO date, YYYY-MM-DD, per role)"
    )
    card = evidence.root / MODEL_CARD
    section = SIGN_OFF.search(card.read_text(encoding="utf-8")) if card.is_file() else None
    if section is None:
        found = f"{MODEL_CARD} has no Sign-off section"
        return Criterion("governance", title, Status.NOT_MET, found, to_meet)
    signed, missing = [], []
    for role, name, when in _table_rows(section.group("body")):
        day = _iso_day(when)
        unsigned = not name or _placeholder(name, evidence.config) is not None
        if unsigned or day is None or day > evidence.now.date():
            missing.append(role)
        else:
            signed.append(f"{role} by {name} on {day.isoformat()}")
    if not signed and not missing:
        found = f"the Sign-off table of {MODEL_CARD} has no rows"
        return Criterion("governance", title, Status.NOT_MET, found, to_meet)
    if missing:
        found = f"{MODEL_CARD}: not signed by {', '.join(missing)}"
        return Criterion("governance", title, Status.NOT_MET, found, to_meet)
    return Criterion("governance", title, Status.MET, f"{MODEL_CARD}: {'; '.join(signed)}", to_meet)


def _table_rows(body: str) -> Iterator[tuple[str, str, str]]:
    """Role, name and date of each row of a Markdown table (header and rule skipped)."""
    rows = [line.strip() for line in body.splitlines() if line.strip().startswith("|")]
    for row in rows[2:]:
        cells = [cell.strip().strip("_*").strip() for cell in row.strip("|").split("|")]
        if len(cells) >= 3:  # noqa: PLR2004 - role, name, date
            yield cells[0], cells[1], cells[2]


def _iso_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# ----------------------------------------------------------------------------- Prometheus


def _serving(evidence: Evidence) -> Criterion:
    title = "Serving SLOs"
    to_meet = (
        "set APP_PROMETHEUS_URL to the Prometheus that scrapes the service "
        "(deploy/prometheus/prometheus.yml); meet the objectives of docs/slos.md"
    )
    url = evidence.settings.prometheus_url
    if not url:
        found = "no Prometheus to ask (APP_PROMETHEUS_URL is not set)"
        return Criterion("serving", title, Status.UNKNOWN, found, to_meet)
    config = evidence.config
    window = f"{round(config.serving_window_days * 24)}h"
    requests = 'bentoml_service_request_total{endpoint="/predict"'
    availability = (
        f'sum(increase({requests},http_response_code!~"5.."}}[{window}])) / '
        f"sum(increase({requests}}}[{window}]))"
    )
    durations = 'bentoml_service_request_duration_seconds_bucket{endpoint="/predict"}'
    p99 = f"histogram_quantile(0.99, sum by (le) (rate({durations}[{window}])))"
    try:
        answered = _query(url, availability, evidence.now)
        latency = _query(url, p99, evidence.now)
    except (httpx.HTTPError, ValueError, KeyError) as error:
        host = urlsplit(url).hostname
        found = f"Prometheus at {host} did not answer ({type(error).__name__})"
        return Criterion("serving", title, Status.UNKNOWN, found, to_meet)
    if answered is None or latency is None:
        found = (
            f"Prometheus has no /predict requests in the last {config.serving_window_days:g} days"
        )
        return Criterion("serving", title, Status.UNKNOWN, found, to_meet)
    found = (
        f"over {config.serving_window_days:g} days: {answered:.3%} of /predict without a 5xx "
        f"(at least {config.min_availability:.1%}), p99 {latency * 1000:.0f} ms (at most "
        f"{config.max_p99_latency_seconds * 1000:.0f} ms)"
    )
    met = answered >= config.min_availability and latency <= config.max_p99_latency_seconds
    return Criterion("serving", title, Status.MET if met else Status.NOT_MET, found, to_meet)


def _query(url: str, expression: str, now: datetime) -> float | None:
    """One value of an instant query, or None when Prometheus has no data for it."""
    response = httpx.get(
        f"{url.rstrip('/')}/api/v1/query",
        params={"query": expression, "time": f"{now.timestamp():.3f}"},
        timeout=10,
    )
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else value  # NaN: no requests in the window  # noqa: PLR0124
