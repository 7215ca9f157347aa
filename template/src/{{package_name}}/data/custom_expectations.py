"""Your own expectations, added to the suite derived from the data contract.

This file is yours: `copier update` never overwrites it. Return Great Expectations 1.x
expectations; give each a ``meta={"rule": ..., "column": ...}`` so failures read well. Example:

    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnMeanToBeBetween(
            column="monthly_charges", min_value=40, max_value=120,
            meta={"rule": "has an unusual mean", "column": "monthly_charges"},
        )
    ]
"""

from typing import Any

from ..contract.data_contract import DataContract


def custom_expectations(contract: DataContract) -> list[Any]:
    """Expectations beyond the contract (none yet)."""
    return []
