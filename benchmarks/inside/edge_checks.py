"""What the checks at the edge add to a request: p50 and p99, in process.

Runs inside a generated project: `uv run python edge_checks.py`. The request body is parsed and
checked by the API's record model, then the observed limits flag each record, as `/predict`
does, for three contracts made from the project's own: every limit declared (refused when
broken), every limit observed (answered and flagged), and observed with an extra field in each
record (APP_EXTRA_FIELDS=ignore). Times are per request, for 1 and 100 records.
"""

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from customer_churn.config.settings import Settings
from customer_churn.contract import schemas
from customer_churn.contract.data_contract import DataContract, ExtraFields, Limits
from pydantic import TypeAdapter

ROUNDS = 3000


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """p50 and p99 of ``call`` in microseconds."""
    for _ in range(200):
        call()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1e6)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[98]


def checks(contract: Any, extra: Any, body: bytes) -> Callable[[], object]:
    records = TypeAdapter(list[schemas.record_model(contract, extra)])  # type: ignore[misc]
    observed = schemas.ObservedLimits(contract)
    known = set(contract.feature_names)

    def run() -> object:
        parsed = records.validate_python(json.loads(body)["records"])
        inputs = records.dump_python(parsed, by_alias=True)
        if any(record.model_extra for record in parsed):
            inputs = [{k: v for k, v in row.items() if k in known} for row in inputs]
        return observed.outside(inputs)

    return run


def main() -> None:
    contract = DataContract.load(Settings().contract_path)

    def all_limits(kind: Any) -> Any:
        features = tuple(f.model_copy(update={"limits": kind}) for f in contract.features)
        return contract.model_copy(update={"features": features})

    record = schemas.example_records(contract)[0]
    cases = {
        "every limit declared": (all_limits(Limits.DECLARED), ExtraFields.REFUSE, {}),
        "every limit observed": (all_limits(Limits.OBSERVED), ExtraFields.REFUSE, {}),
        "observed, an extra field ignored": (
            all_limits(Limits.OBSERVED),
            ExtraFields.IGNORE,
            {"not in the contract": 1},
        ),
    }
    print(f"Checks at the edge, {len(contract.features)} features, {ROUNDS} requests each\n")
    print("| Contract | Records | p50 (µs) | p99 (µs) |")
    print("| --- | --- | --- | --- |")
    for name, (variant, extra, added) in cases.items():
        for count in (1, 100):
            body = json.dumps({"records": [{**record, **added}] * count}).encode()
            p50, p99 = timed(checks(variant, extra, body))
            print(f"| {name} | {count} | {p50:,.0f} | {p99:,.0f} |")


main()
