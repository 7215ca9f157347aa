"""Retraining, evaluation and promotion.

The Prefect flow (validate, train, evaluate, promote or refuse), the evaluation against the
champion, moves of the registry's aliases, and the lock that keeps runs from overlapping.

May import every layer below it: `monitoring`, `serving`, `audit`, `models`, `data`, `config`,
`contract`, `core`. Never `cli`.
"""

from collections.abc import Callable

MOVED_PIPELINE_STEPS = frozenset({"as_text", "date_parts", "date_part_names"})
"""Pipelines pickled before 0.3.0 name these steps `<package>.training.<step>`."""


def __getattr__(name: str) -> Callable[..., object]:
    """The pipeline steps that moved to `models.pipeline`, for pipelines pickled before 0.3.0."""
    if name in MOVED_PIPELINE_STEPS:
        from ..models import pipeline  # noqa: PLC0415 - only when an old pipeline is loaded

        step: Callable[..., object] = getattr(pipeline, name)
        return step
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
