"""Errors of the registry, monitoring and retraining steps that a person can act on.

They live apart from the modules that raise them so that the command line can catch them
without importing MLflow or Prefect.
"""


class MonitoringError(Exception):
    """The monitoring settings do not fit the contract."""


class PromotionError(Exception):
    """A promotion or rollback that cannot be done (unknown version, nothing to roll back to)."""


class ReferenceDataError(Exception):
    """The champion has no reference data to compare with."""


class RetrainingError(Exception):
    """Retraining cannot run as asked."""
