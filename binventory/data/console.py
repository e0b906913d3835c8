"""How the data commands show progress and class counts on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

_console = Console(stderr=True)


def progress() -> Progress:
    """A bar with done/total and time left, on stderr so stdout stays the command's report."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=False,
    )


def print_distribution(distribution: dict[str, dict[str, int]]) -> None:
    """One row per split, one column per count label, with totals."""
    labels = list(next(iter(distribution.values())))
    table = Table("split", *labels, "total", title="images per count")
    for name, per_split in distribution.items():
        table.add_row(name, *(str(per_split[label]) for label in labels), str(sum(per_split.values())))
    Console(width=200).print(table)
