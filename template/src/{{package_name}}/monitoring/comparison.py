"""Champion against challenger on the same live requests, from the prediction log.

Shadow mode logs the challenger's answer for each champion prediction it saw; this module pairs
them: how often the two agree, and, where feedback arrived, how right each one was.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..audit.prediction_log import (
    engine_for,
    feedback,
    metadata,
    predictions,
    shadow_predictions,
    with_latest_feedback,
)
from ..config.training import EvaluationConfig
from ..contract.data_contract import DataContract
from ..models.scoring import answer_quality, quality_metric

AGREEMENT_TOLERANCE = 0.1
"""Regression answers agree when they differ by at most this share of the champion's value."""


@dataclass(frozen=True)
class Comparison:
    """What the shadow log says about one challenger version."""

    challenger_version: str
    champion_versions: list[str]
    paired: int
    agreement: float | None
    labelled: int
    metric: str
    champion_value: float | None
    challenger_value: float | None

    def text(self) -> str:
        """The comparison for the terminal."""
        if self.paired == 0:
            return (
                f"challenger version {self.challenger_version}: no shadow predictions yet; "
                "enable shadow mode (APP_SHADOW_ENABLED=true) and let it see traffic"
            )
        lines = [
            f"challenger version {self.challenger_version} against champion version(s) "
            f"{', '.join(self.champion_versions)} on {self.paired} shadowed predictions",
            f"  agreement  {self.agreement:.1%}",
        ]
        if self.labelled:
            lines.append(
                f"  {self.metric:<10} champion {self.champion_value:.3f}, challenger "
                f"{self.challenger_value:.3f} ({self.labelled} with feedback)"
            )
        else:
            lines.append("  no feedback yet on the shadowed predictions (POST /feedback)")
        return "\n".join(lines)

    def write(self, folder: Path, rules: "list[ShadowRule]") -> Path:
        """``comparison.json`` in ``folder``: the evidence, and the promotion rules against it."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "comparison.json"
        document = {**asdict(self), "rules": [asdict(rule) for rule in rules]}
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        return path


@dataclass(frozen=True)
class ShadowRule:
    """One rule of promotion after shadow, and whether the evidence meets it."""

    name: str
    needed: str
    seen: str
    met: bool

    def text(self) -> str:
        """``  [met]     agreement: 93.0% (needs at least 90%)``."""
        status = "[met]" if self.met else "[not met]"
        return f"  {status:<10}{self.name}: {self.seen} ({self.needed})"


def shadow_rules(
    comparison: Comparison, rules: EvaluationConfig, min_rows: int
) -> list[ShadowRule]:
    """The promotion rules of ``config/training.yaml`` against the shadow evidence.

    ``min_rows`` is the project's effective ``min_shadow_rows`` (which the environment may raise).
    """
    found = [
        ShadowRule(
            "shadow predictions",
            f"needs at least {min_rows}",
            str(comparison.paired),
            comparison.paired >= min_rows,
        )
    ]
    if rules.min_shadow_agreement > 0:
        agreement = comparison.agreement
        found.append(
            ShadowRule(
                "agreement with the champion",
                f"needs at least {rules.min_shadow_agreement:.0%}",
                "none yet" if agreement is None else f"{agreement:.1%}",
                agreement is not None and agreement >= rules.min_shadow_agreement,
            )
        )
    if rules.min_shadow_labelled > 0:
        found.append(
            ShadowRule(
                "shadowed predictions with feedback",
                f"needs at least {rules.min_shadow_labelled}",
                str(comparison.labelled),
                comparison.labelled >= rules.min_shadow_labelled,
            )
        )
        found.append(_quality_rule(comparison, rules.max_shadow_quality_loss))
    return found


def _quality_rule(comparison: Comparison, allowed: float) -> ShadowRule:
    champion, challenger = comparison.champion_value, comparison.challenger_value
    needed = f"at most {allowed:g} worse than the champion's"
    if champion is None or challenger is None:
        return ShadowRule(f"live {comparison.metric}", needed, "no feedback yet", met=False)
    lower_is_better = comparison.metric == quality_metric(regression=True)
    loss = challenger - champion if lower_is_better else champion - challenger
    seen = f"challenger {challenger:.3f}, champion {champion:.3f}"
    return ShadowRule(f"live {comparison.metric}", needed, seen, loss <= allowed)


def compare(url: str, contract: DataContract, challenger_version: str) -> Comparison:
    """Pair the challenger's shadow answers with the champion's, and both with feedback."""
    engine, shadow = engine_for(url), shadow_predictions
    try:
        metadata.create_all(engine)
        paired = sa.select(
            predictions.c.model_version,
            predictions.c.prediction,
            shadow.c.prediction.label("shadow"),
            feedback.c.outcome,
        ).join(shadow, shadow.c.prediction_id == predictions.c.prediction_id)
        query = with_latest_feedback(paired).where(shadow.c.model_version == challenger_version)
        with engine.connect() as connection:
            rows = list(connection.execute(query).all())
    finally:
        engine.dispose()
    regression = contract.target.classes is None
    champion = [json.loads(row.prediction) for row in rows]
    challenger = [json.loads(row.shadow) for row in rows]
    labelled = [
        (c, s, json.loads(row.outcome))
        for c, s, row in zip(champion, challenger, rows, strict=True)
        if row.outcome is not None
    ]
    return Comparison(
        challenger_version=challenger_version,
        champion_versions=sorted({row.model_version for row in rows}),
        paired=len(rows),
        agreement=_agreement(champion, challenger, regression) if rows else None,
        labelled=len(labelled),
        metric=quality_metric(regression),
        champion_value=answer_quality([(c, o) for c, _, o in labelled], regression),
        challenger_value=answer_quality([(s, o) for _, s, o in labelled], regression),
    )


def _agreement(champion: list[Any], challenger: list[Any], regression: bool) -> float:
    if not regression:
        return float(np.mean([str(a) == str(b) for a, b in zip(champion, challenger, strict=True)]))
    first, second = np.asarray(champion, dtype=float), np.asarray(challenger, dtype=float)
    close = np.abs(first - second) <= AGREEMENT_TOLERANCE * np.maximum(np.abs(first), 1e-9)
    return float(np.mean(close))
