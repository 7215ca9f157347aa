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


TRANSIENT_MLFLOW_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"})
"""MLflow error codes a second try may not meet."""


def is_transient(error: BaseException) -> bool:
    """Whether a second try may succeed: the network, a database away or busy, a busy server.

    Follows the causes of ``error``. A missing file, invalid data, a refused promotion or a bug
    is never transient: retrying it only delays the message.
    """
    import sqlalchemy.exc  # noqa: PLC0415 - only when a step failed

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        if isinstance(current, ConnectionError | TimeoutError | sqlalchemy.exc.OperationalError):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        client_library = kind.__module__.split(".")[0] in {"requests", "urllib3", "httpx"}
        if client_library and ("Connection" in kind.__name__ or "Timeout" in kind.__name__):
            return True
        if getattr(current, "error_code", None) in TRANSIENT_MLFLOW_CODES:
            return True
        current = current.__cause__ or current.__context__
    return False
