"""The data contract and what is derived from it.

`contract/data_contract.yaml` read and checked; the request and model-input schemas; contract
inference from a team's own table; the project files kept in step with the contract.

May import: `core`.
"""
