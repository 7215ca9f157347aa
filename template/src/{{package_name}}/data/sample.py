"""A deterministic sample dataset (subscription customers) for every problem type.

The same generator writes the files shipped in ``data/sample/`` and the large datasets the
benchmarks use, so the sample can be reproduced at any size from a seed.
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..contract.data_contract import DataContract, ProblemType
from .files import write_table

SAMPLE_FILES = {"train": 2_000, "holdout": 500}
"""Shipped sample files and their row counts; ``edge_cases`` is written beside them."""

SEED = 20_240_611

CONTRACT_TYPES = ("month_to_month", "one_year", "two_year")
PAYMENT_METHODS = ("card", "bank_transfer", "invoice")
REGIONS = ("north", "south", "east", "west")


def generate_features(n_rows: int, seed: int, id_prefix: str) -> pd.DataFrame:
    """Customer features with realistic correlations; about 5% never logged in (missing)."""
    rng = np.random.default_rng(seed)
    contract_type = rng.choice(CONTRACT_TYPES, size=n_rows, p=[0.55, 0.25, 0.20])
    longer = np.select([contract_type == "one_year", contract_type == "two_year"], [1.0, 2.0], 0.0)
    tenure = np.clip(rng.gamma(2.0, 12.0, n_rows) + 12 * longer, 0, 120).round().astype("int64")
    last_login = np.clip(rng.exponential(20.0, n_rows), 0, 365).round()
    last_login[rng.random(n_rows) < 0.05] = np.nan  # noqa: PLR2004
    return pd.DataFrame(
        {
            "customer_id": [f"{id_prefix}{index:07d}" for index in range(n_rows)],
            "tenure_months": tenure,
            "monthly_charges": np.clip(rng.normal(70, 30, n_rows), 10, 250).round(2),
            "support_calls_90d": np.clip(rng.poisson(1.5, n_rows), 0, 30).astype("int64"),
            "days_since_last_login": pd.Series(last_login).astype("Int64"),
            "contract_type": contract_type,
            "payment_method": rng.choice(PAYMENT_METHODS, size=n_rows, p=[0.5, 0.3, 0.2]),
            "region": rng.choice(REGIONS, size=n_rows),
            "has_discount": rng.random(n_rows) < 0.3,  # noqa: PLR2004
        }
    )


def _risk(features: pd.DataFrame, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """A latent churn risk: short tenure, many calls, monthly contracts and inactivity raise it."""
    login = features["days_since_last_login"].astype("float64").fillna(90.0)
    return np.asarray(
        -2.2
        - 0.04 * features["tenure_months"]
        + 0.45 * features["support_calls_90d"]
        + 0.012 * features["monthly_charges"]
        + 1.4 * (features["contract_type"] == "month_to_month")
        + 0.02 * login
        - 0.5 * features["has_discount"]
        + rng.normal(0, 0.8, len(features)),
        dtype="float64",
    )


def _churn(features: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    churned = rng.random(len(features)) < 1 / (1 + np.exp(-_risk(features, rng)))
    return pd.Series(np.where(churned, "churned", "retained"), name="churn")


def _next_plan(features: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    risk = _risk(features, rng)
    plan = np.select([risk > 0.2, risk < -2.5], ["downgrade", "upgrade"], "keep")  # noqa: PLR2004
    return pd.Series(plan, name="next_plan")


def _next_month_spend(features: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    risk = _risk(features, rng)
    spend = features["monthly_charges"] * (1.1 - 0.12 * risk) + rng.normal(0, 5, len(features))
    return pd.Series(np.clip(spend, 0, 400).round(2), name="next_month_spend")


TARGETS: dict[ProblemType, Callable[[pd.DataFrame, np.random.Generator], pd.Series]] = {
    ProblemType.BINARY_CLASSIFICATION: _churn,
    ProblemType.MULTICLASS_CLASSIFICATION: _next_plan,
    ProblemType.REGRESSION: _next_month_spend,
}


def generate(
    problem_type: ProblemType, n_rows: int, seed: int = SEED, id_prefix: str = "C"
) -> pd.DataFrame:
    """Labelled rows for ``problem_type``: id, features and target."""
    features = generate_features(n_rows, seed, id_prefix)
    target = TARGETS[problem_type](features, np.random.default_rng(seed + 1))
    return features.assign(**{str(target.name): target.to_numpy()})


def is_shipped_sample(source: str, sample_dir: Path, root: Path | None = None) -> bool:
    """Whether the data ``source`` (a path, or ``table:NAME``) is in the sample's folder.

    Relative paths are taken from ``root`` (default: the working directory).
    """
    if source.startswith("table:"):
        return False
    base = root or Path.cwd()
    return (base / source).resolve().is_relative_to((base / sample_dir).resolve())


def fits_sample(contract: DataContract) -> bool:
    """Whether ``contract`` still describes the shipped sample (its columns, in order)."""
    return list(generate(contract.problem_type, 1).columns) == contract.columns


def generate_edge_cases(problem_type: ProblemType) -> pd.DataFrame:
    """Rows that break the contract one way each; the id names the case.

    ``expected_outcome`` says what the service must do with each row: ``refused`` (a 4xx naming
    the field: a declared limit, a type, a missing value) or ``flagged`` (answered with
    ``needs_review`` and the field in ``out_of_range``: beyond an observed limit). The sample's
    contract declares every limit, so all of its cases are refused, and validation fails each.
    """
    base = generate(problem_type, 1, seed=SEED + 7).iloc[0].to_dict()
    cases: dict[str, dict[str, object]] = {
        "missing-tenure": {"tenure_months": None},
        "negative-tenure": {"tenure_months": -3},
        "tenure-beyond-range": {"tenure_months": 600},
        "charges-absurd": {"monthly_charges": 1e12},
        "charges-not-a-number": {"monthly_charges": "seventy"},
        "calls-as-text": {"support_calls_90d": "many"},
        "unknown-contract-type": {"contract_type": "lifetime"},
        "unknown-region": {"region": "atlantis"},
        "missing-payment-method": {"payment_method": None},
        "discount-not-boolean": {"has_discount": "maybe"},
    }
    rows = [
        {"expected_outcome": "refused", **base, "customer_id": f"EDGE-{case}", **change}
        for case, change in cases.items()
    ]
    return pd.DataFrame(rows, dtype=object)


def write_sample(problem_type: ProblemType, directory: Path) -> list[Path]:
    """Write the shipped ``train``, ``holdout`` and ``edge_cases`` CSV files."""
    written = []
    for offset, (stem, n_rows) in enumerate(SAMPLE_FILES.items()):
        frame = generate(problem_type, n_rows, SEED + offset, id_prefix=stem[0].upper())
        written.append(directory / f"{stem}.csv")
        write_table(frame, written[-1])
    written.append(directory / "edge_cases.csv")
    write_table(generate_edge_cases(problem_type), written[-1])
    return written
