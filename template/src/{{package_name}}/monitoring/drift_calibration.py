"""Drift thresholds that hold a stated false-alarm rate, calibrated by resampling the reference.

Evidently's distances have fixed thresholds (0.1): on a window of a few hundred predictions of
a skewed or many-valued column, noise alone passes them. Here each column's threshold is the
distance that windows of the live window's size, drawn from the reference itself, exceed only
``false_alarm_rate`` of the time, and never below Evidently's own threshold (a large window then
alarms on a material shift only). Numbers use the normed Wasserstein distance, categories the
Jensen-Shannon distance, whatever the reference's size. Windows past ``CALIBRATED_ROWS`` are
calibrated at that size (the rate then holds as a bound). Both distances are computed here as
Evidently computes them, for every draw at once (tests/test_drift.py checks the figures
against Evidently's own).
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

DRAWS = 1_000
"""Windows drawn from the reference per column: the threshold is their (1 - rate) quantile."""
NUMBER_TEST = "wasserstein"
CATEGORY_TEST = "jensenshannon"
DEFAULT_THRESHOLD = 0.1
"""Evidently's threshold for both distances: a calibrated threshold is never lower."""
TIES = 1e-9
"""Relative margin above the quantile: beyond the rounding between our sums and Evidently's."""
CELLS = 2_000_000
"""Draws x window rows (or x categories) held in memory at once."""
CALIBRATED_ROWS = 5_000
"""A larger window is calibrated as one of this size: its noise is smaller, so the threshold
errs high and the false-alarm rate holds (as a bound), at a cost that stops growing."""


@dataclass(frozen=True)
class CalibratedTest:
    """The test Evidently runs on a column and the threshold it alarms from."""

    method: str
    threshold: float


def calibrated_tests(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    *,
    false_alarm_rate: float,
    draws: int = DRAWS,
    seed: int = 0,
) -> dict[str, CalibratedTest]:
    """Each column of ``current`` found in ``reference``: its test and calibrated threshold.

    Columns empty on either side are left to Evidently's defaults.
    """
    rng = np.random.default_rng(seed)
    tests: dict[str, CalibratedTest] = {}
    for name in current.columns:
        known = reference[name].dropna()
        rows = min(int(current[name].notna().sum()), CALIBRATED_ROWS)
        if known.empty or rows == 0:
            continue
        numbers = name in numeric
        width = rows if numbers else max(rows, known.nunique())
        step = max(1, CELLS // width)  # draws at once: memory stays flat in the window's size
        scores = np.concatenate(
            [
                distances(
                    known,
                    rng.integers(0, len(known), size=(min(step, draws - first), rows)),
                    numeric=numbers,
                )
                for first in range(0, draws, step)
            ]
        )
        # Evidently alarms from the threshold on: just above the quantile, so that windows
        # equal to it (a column of few values gives many equal distances) do not alarm
        quantile = float(np.quantile(scores, 1 - false_alarm_rate, method="higher"))
        above = quantile * (1 + TIES) + TIES
        method = NUMBER_TEST if numbers else CATEGORY_TEST
        tests[str(name)] = CalibratedTest(method, max(DEFAULT_THRESHOLD, above))
    return tests


def distances(
    values: pd.Series, picks: npt.NDArray[np.int64], *, numeric: bool
) -> npt.NDArray[np.float64]:
    """The column's distance between ``values`` and each row of picks of them.

    Wasserstein (normed) for numbers, Jensen-Shannon for categories (compared as text).
    """
    if numeric:
        return wasserstein_scores(values, picks)
    return jensenshannon_scores(values.astype(str), picks)


def wasserstein_scores(values: pd.Series, picks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Evidently's normed Wasserstein distance between ``values`` and each row of picks of them.

    With F the reference's distribution function on its sorted distinct values: where they are
    fewer than a window's rows, each window's function is counted on them; otherwise it is
    constant (k/n) between the window's sorted values, and each stretch between two of them
    adds the area between a constant and F, from prefix sums (n log n, whatever the reference's
    size).
    """
    numbers = values.to_numpy(float)
    grid, position, counts = np.unique(numbers, return_inverse=True, return_counts=True)
    cdf = np.cumsum(counts) / len(numbers)
    widths = np.diff(grid)
    spans = np.concatenate([[0.0], np.cumsum(widths)])  # W_j: the width up to grid point j
    areas = np.concatenate([[0.0], np.cumsum(cdf[:-1] * widths)])  # A_j: F's area up to j
    rows = picks.shape[1]
    norm = max(float(np.std(numbers)), 0.001)
    if len(grid) <= rows:  # few distinct values (codes, counts): count them, no sorting
        offsets = np.arange(len(picks))[:, None] * len(grid)
        cells = np.bincount(
            (position[picks] + offsets).ravel(), minlength=picks.size // rows * len(grid)
        )
        window = np.cumsum(cells.reshape(len(picks), len(grid)), axis=1) / rows
        return np.asarray(np.abs(window[:, :-1] - cdf[:-1]) @ widths / norm)
    ordered = np.sort(position[picks], axis=1)
    starts = np.concatenate([np.zeros((len(picks), 1), dtype=np.int64), ordered], axis=1)
    ends = np.concatenate([ordered, np.full((len(picks), 1), len(grid) - 1)], axis=1)
    level = np.arange(rows + 1) / rows  # the window's function on each stretch
    crossing = np.clip(np.searchsorted(cdf, level, side="left"), starts, ends)
    below = level * (spans[crossing] - spans[starts]) - (areas[crossing] - areas[starts])
    above = (areas[ends] - areas[crossing]) - level * (spans[ends] - spans[crossing])
    return np.asarray((below + above).sum(axis=1) / norm)


def jensenshannon_scores(
    values: pd.Series, picks: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Evidently's Jensen-Shannon distance between ``values`` and each row of picks of them.

    Over the reference's categories, with natural logarithms, as scipy computes it.
    """
    codes, categories = pd.factorize(values)
    reference = np.bincount(codes, minlength=len(categories)) / len(codes)
    chosen = codes[picks]
    offsets = np.arange(len(chosen))[:, None] * len(categories)
    tallies = np.bincount((chosen + offsets).ravel(), minlength=len(chosen) * len(categories))
    window = tallies.reshape(len(chosen), len(categories)) / picks.shape[1]
    middle = (window + reference) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(reference > 0, reference * np.log(reference / middle), 0.0)
        right = np.where(window > 0, window * np.log(window / middle), 0.0)
    return np.asarray(np.sqrt(np.maximum((left + right).sum(axis=1) / 2, 0.0)))
