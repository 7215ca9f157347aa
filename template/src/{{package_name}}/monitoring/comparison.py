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

    def write(self, folder: Path) -> Path:
        """``comparison.json`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "comparison.json"
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        return path


def shadow_rows(url: str, version: str) -> int:
    """How many shadow predictions the log holds for ``version``."""
    engine = engine_for(url)
    try:
        metadata.create_all(engine)
        query = sa.select(sa.func.count()).where(shadow_predictions.c.model_version == version)
        with engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


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
