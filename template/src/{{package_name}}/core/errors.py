"""Errors a person can act on, and those of the registry, monitoring and retraining steps.

Every error about the team's files, data or settings is a :class:`UserError`: the command line
prints it as one line, without a traceback, and exits 1. The step errors live here, apart from
the modules that raise them, so that nothing needs MLflow or Prefect to name them.
"""


class UserError(Exception):
    """A problem with the team's files, data or settings, said in one line with its fix."""


class MonitoringError(UserError):
    """The monitoring settings do not fit the contract."""


class PromotionError(UserError):
    """A promotion or rollback that cannot be done (unknown version, nothing to roll back to)."""


class ReferenceDataError(UserError):
    """The champion has no reference data to compare with."""


class RetrainingError(UserError):
    """Retraining cannot run as asked."""
