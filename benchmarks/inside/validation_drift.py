"""Rows per second of the contract's Great Expectations suite and of the Evidently drift report,
against plain pandas/NumPy implementations of the same checks (the limit).

Runs inside a generated project: `uv run python validation_drift.py 100000 1000000`.
"""

import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from customer_churn.config.settings import Settings
from customer_churn.contract.data_contract import DataContract, FeatureType, ProblemType
from customer_churn.data.sample import generate
from customer_churn.data.validation import validate
from customer_churn.monitoring.drift import compute_drift
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

GE_TARGET = 3.0
contract = DataContract.load(Settings().contract_path)
NUMERIC = (FeatureType.INTEGER, FeatureType.NUMBER)


def seconds(work: Callable[..., object], *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - started


def pandas_validation(frame: pd.DataFrame) -> int:
    """The suite's checks in plain pandas: columns, missing values, types, ranges, categories."""
    failures = 0
    for feature in contract.features:
        column = frame[feature.name]
        present = column.notna()
        failures += int((~present).sum()) if not feature.nullable else 0
        if feature.type in NUMERIC:
            numbers = pd.to_numeric(column, errors="coerce")
            failures += int((numbers.isna() & present).sum())
            if feature.type is FeatureType.INTEGER:
                failures += int((numbers.dropna() % 1 != 0).sum())
            low = -np.inf if feature.minimum is None else feature.minimum
            high = np.inf if feature.maximum is None else feature.maximum
            failures += int((~numbers.dropna().between(low, high)).sum())
        elif feature.type is FeatureType.CATEGORY:
            failures += int((~column[present].astype(str).isin(feature.values or ())).sum())
        else:
            failures += int((~column[present].isin([True, False])).sum())
    target = frame[contract.target.name]
    failures += int((~target.astype(str).isin(contract.target.classes or ())).sum())
    identifier = frame[contract.id_column]
    failures += int(identifier.isna().sum() + identifier.duplicated().sum())
    return failures


def numpy_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list[bool]:
    """Evidently's choices for large samples: normed Wasserstein distance for numbers,
    Jensen-Shannon distance for categories, both with threshold 0.1."""
    verdicts = []
    for feature in contract.features:
        ref, cur = reference[feature.name].dropna(), current[feature.name].dropna()
        if feature.type in NUMERIC:
            spread = float(np.std(ref)) or 1.0
            verdicts.append(wasserstein_distance(ref, cur) / spread >= 0.1)
        else:
            keys = pd.Index(pd.concat([ref, cur]).astype(str).unique())
            p = ref.astype(str).value_counts().reindex(keys, fill_value=0).to_numpy()
            q = cur.astype(str).value_counts().reindex(keys, fill_value=0).to_numpy()
            verdicts.append(float(jensenshannon(p, q)) >= 0.1)
    return verdicts


def row(name: str, rows: int, tool: float, limit: float) -> str:
    ratio = tool / limit
    return f"| {name} | {rows:,} | {rows / tool:,.0f} | {rows / limit:,.0f} | **{ratio:.1f}x** |"


def main() -> None:
    sizes = [int(size) for size in sys.argv[1:]] or [100_000]
    lines = []
    for rows in sizes:
        reference = generate(ProblemType.BINARY_CLASSIFICATION, rows, seed=1)
        current = generate(ProblemType.BINARY_CLASSIFICATION, rows, seed=2)
        validate(reference.head(1000), contract, source="warm-up", require_target=True)
        ge = seconds(validate, current, contract, source="bench", require_target=True)
        plain = seconds(pandas_validation, current)
        lines.append(row("Great Expectations suite", rows, ge, plain))
        compute_drift(reference.head(1000), current.head(1000), contract)  # imports, warm-up
        evidently = seconds(compute_drift, reference, current, contract)
        limit = seconds(numpy_drift, reference, current)
        lines.append(row("Evidently drift report", rows, evidently, limit))
    print("## Validation and drift throughput (sample schema, 8 features)\n")
    print("| Check | Rows | Rows/s | Limit rows/s (pandas/NumPy) | Slower than the limit |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print("\n".join(lines))
    print(f"\nTarget for Great Expectations: within {GE_TARGET:.0f}x of the limit.")
    batch = generate(ProblemType.BINARY_CLASSIFICATION, 10, seed=3)
    fixed = min(
        seconds(validate, batch, contract, source="tiny", require_target=True) for _ in range(3)
    )
    print(
        f"Great Expectations' fixed cost per batch (10 rows, best of 3): {fixed:.2f} s; "
        "it dominates batches of up to a few hundred thousand rows.\n"
    )


main()
