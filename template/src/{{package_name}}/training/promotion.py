"""Promotion and rollback: moves of the ``champion`` alias, with a history to roll back along.

The history is a tag on the registered model (``champion_history``, oldest first). Moving the
alias is one registry call, so a promotion is either done or not: there is no half state. The
history is written on the side of that call that keeps it consistent if a run stops in between:
`history` always ends with the version the alias points at.

Every move holds the champion lock (``run_lock``) from its first read to its last write, so two
moves at once happen one after the other. Every move also leaves a record of its own (a tag
``champion_move.<when>.<id>``: from, to, who, when, why), which nothing rewrites: the readiness
scorecard reads rollbacks from them.
"""

import getpass
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..config.settings import Settings
from ..config.training import TrainingConfig
from ..contract.data_contract import DataContract
from ..core.errors import PromotionError
from ..models.registry import (
    CHALLENGER,
    CHAMPION,
    MOVE_TAG_PREFIX,
    champion_moves,
    champion_version,
    connect,
    contract_mismatch,
    log_baseline,
)
from .run_lock import champion_lock

HISTORY_TAG = "champion_history"


@dataclass(frozen=True)
class AliasMove:
    """Which version served before, and which serves now."""

    previous: str | None
    current: str


def history(client: MlflowClient, settings: Settings) -> list[str]:
    """Versions that have been champion, oldest first, ending with the current one."""
    model = client.get_registered_model(settings.model_name)
    recorded = [v for v in model.tags.get(HISTORY_TAG, "").split(",") if v]
    current = champion_version(client, settings)
    if current is not None and (not recorded or recorded[-1] != str(current.version)):
        recorded.append(str(current.version))  # e.g. the baseline set by `make setup`
    return recorded


def rebaseline(settings: Settings, contract: DataContract) -> AliasMove:
    """Register the baseline of the current contract and make it the champion.

    For a new contract (after ``contract infer``): its signature and reference data are the
    new data's. The champion before stays in the history.
    """
    registered = log_baseline(settings, contract)
    why = f"rebaseline: the baseline of contract {contract.name}"
    return promote(settings, str(registered.version), shadow_gate=False, why=why)


def promote(
    settings: Settings,
    version: str,
    *,
    shadow_gate: bool = True,
    why: str = "promoted by hand",
    compared_with: str | None = None,
) -> AliasMove:
    """Make ``version`` the champion; the one before stays in the history for rollback.

    With ``compared_with`` (the champion an evaluation compared ``version`` against), the
    champion is read again first and the move refused if it is another one by now: a
    concurrent move must not be replaced by a version that was never compared with it. The
    move holds the champion lock: nothing else moves the alias between that read and the move.
    """
    with champion_lock(settings):
        return _promote(settings, version, shadow_gate, why, compared_with)


def _promote(
    settings: Settings, version: str, shadow_gate: bool, why: str, compared_with: str | None
) -> AliasMove:
    client = connect(settings)
    if compared_with is not None:
        serving = champion_version(client, settings)
        now = None if serving is None else str(serving.version)
        if now != compared_with:
            raise PromotionError(
                f"version {version} was compared with champion version {compared_with}, but "
                f"the champion is version {now} now (moved while it was evaluated); retrain "
                "again to compare it with the one that serves"
            )
    try:
        client.get_model_version(settings.model_name, version)
    except MlflowException:
        raise PromotionError(
            f"model '{settings.model_name}' has no version {version}; "
            "see the MLflow UI (`uv run mlflow ui --backend-store-uri ...`) for the versions"
        ) from None
    past = history(client, settings)
    previous = past[-1] if past else None
    if previous == version:
        return AliasMove(previous, version)
    if shadow_gate and version not in past:
        _require_shadow_evidence(settings, version)
    client.set_registered_model_alias(settings.model_name, CHAMPION, version)
    client.set_registered_model_tag(settings.model_name, HISTORY_TAG, ",".join([*past, version]))
    _drop_challenger_if(client, settings, version)
    _record_move(client, settings, "promotion", AliasMove(previous, version), why)
    return AliasMove(previous, version)


def shadow_rows_needed(settings: Settings, config: TrainingConfig | None = None) -> int:
    """Shadow predictions a version needs before it may become champion.

    The project's rule (config/training.yaml: evaluation.min_shadow_rows), which the caller's
    ``APP_PROMOTION_MIN_SHADOW_ROWS`` may raise but never lower: a CI job without the variable
    cannot skip the evidence.
    """
    if config is None:
        contract = DataContract.load(settings.contract_path)
        config = TrainingConfig.load(settings.training_config_path, contract)
    return max(config.evaluation.min_shadow_rows, settings.promotion_min_shadow_rows)


def _require_shadow_evidence(settings: Settings, version: str) -> None:
    contract = DataContract.load(settings.contract_path)
    config = TrainingConfig.load(settings.training_config_path, contract)
    needed = shadow_rows_needed(settings, config)
    if needed == 0:
        return
    from ..monitoring.comparison import compare, shadow_rules  # noqa: PLC0415 - gate on only

    evidence = compare(settings.prediction_log_url.get_secret_value(), contract, version)
    unmet = [rule for rule in shadow_rules(evidence, config.evaluation, needed) if not rule.met]
    if unmet:
        said = "; ".join(f"{rule.name} {rule.seen} ({rule.needed})" for rule in unmet)
        raise PromotionError(
            f"version {version} has not earned promotion in shadow: {said}. The rules are "
            "config/training.yaml's evaluation.min_shadow_* (APP_PROMOTION_MIN_SHADOW_ROWS may "
            "ask for more rows). Keep it as challenger with shadow mode on "
            "(APP_SHADOW_ENABLED=true) until it meets them; `compare` shows each rule"
        )


def rollback(settings: Settings, contract: DataContract) -> AliasMove:
    """Point ``champion`` back at the version that was champion before the current one.

    Refused if that version was registered for another contract: the service could not use it.
    Holds the champion lock, as a promotion does.
    """
    with champion_lock(settings):
        return _rollback(settings, contract)


def _rollback(settings: Settings, contract: DataContract) -> AliasMove:
    client = connect(settings)
    past = history(client, settings)
    if len(past) < 2:  # noqa: PLR2004
        current = past[-1] if past else "none"
        earlier = sorted(
            {str(move["from"]) for move in champion_moves(client, settings) if move["from"]}
            - {current},
            key=int,
        )
        if earlier:
            raise PromotionError(
                f"nothing to roll back to: version {current} serves and was the first "
                f"champion; the later champions ({', '.join(earlier)}) have been rolled back "
                "(`history` shows every move; `promote VERSION` brings one back)"
            )
        raise PromotionError(
            f"nothing to roll back to: version {current} is the only champion there has been"
        )
    current, previous = past[-1], past[-2]
    mismatch = contract_mismatch(settings, previous, contract)
    if mismatch:
        raise PromotionError(
            f"rollback refused: {mismatch}. Restore that contract first, or `promote` a version "
            "registered for this one"
        )
    # History first: interrupted in between, `history` still ends with the serving champion.
    client.set_registered_model_tag(settings.model_name, HISTORY_TAG, ",".join(past[:-1]))
    client.set_registered_model_alias(settings.model_name, CHAMPION, previous)
    move = AliasMove(current, previous)
    _record_move(client, settings, "rollback", move, "rolled back by hand")
    return move


def _record_move(
    client: MlflowClient, settings: Settings, kind: str, move: AliasMove, why: str
) -> None:
    """One tag per move, named by its time and a random id: concurrent moves each keep theirs."""
    at = datetime.now(UTC)
    key = f"{MOVE_TAG_PREFIX}{at:%Y%m%dT%H%M%S%f}.{uuid.uuid4().hex[:8]}"
    record = {
        "kind": kind,
        "from": move.previous,
        "to": move.current,
        "by": _actor(),
        "at": at.isoformat(timespec="seconds"),
        "why": why[:1000],
    }
    client.set_registered_model_tag(settings.model_name, key, json.dumps(record))


def _actor() -> str:
    """Who moved the alias: CI's user where CI runs it, else the account running the command."""
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if os.environ.get(variable):
            return f"{os.environ[variable]} (CI)"
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        return f"uid {os.getuid()}"


def set_challenger(settings: Settings, version: str) -> None:
    """Mark ``version`` as the challenger (the candidate that may replace the champion)."""
    connect(settings).set_registered_model_alias(settings.model_name, CHALLENGER, version)


def _drop_challenger_if(client: MlflowClient, settings: Settings, version: str) -> None:
    try:
        challenger = client.get_model_version_by_alias(settings.model_name, CHALLENGER)
    except MlflowException:
        return
    if str(challenger.version) == version:
        client.delete_registered_model_alias(settings.model_name, CHALLENGER)
