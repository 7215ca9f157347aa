"""The models that answer.

The rule-based baseline (and fitting it from data), the trained scikit-learn pipeline and its
explanations, the MLflow registry, reference data, scoring.

May import: `data`, `config`, `contract`, `core`.
"""
