"""Data files and their checks.

Reading CSV/Parquet, the sample generator, the Great Expectations suite derived from the
contract, and the team's own expectations (`custom_expectations.py`).

May import: `config`, `contract`, `core`.
"""
