"""Progress of the command line's long steps.

On a terminal: a bar with the step, the time so far and an estimate of the time left (rich).
Without one (CI logs, pipes): one plain line per step on stderr, with the time so far.
"""

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def steps(title: str, names: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """Yield ``begin(name)``: the step before it is done, ``name`` runs now (one of ``names``)."""
    console = Console(stderr=True)
    started = time.monotonic()
    if not console.is_terminal:

        def line(name: str) -> None:
            index = names.index(name) + 1
            elapsed = time.monotonic() - started
            print(f"{title} [{index}/{len(names)}] {name} ({elapsed:.1f} s)", file=sys.stderr)

        yield line
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(title, total=len(names))

        def begin(name: str) -> None:
            bar.update(task, completed=names.index(name), description=f"{title}: {name}")

        yield begin
        bar.update(task, completed=len(names))
