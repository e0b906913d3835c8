"""The confusion-matrix picture written beside evaluation.json (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path, title: str
) -> Path:
    """Save a confusion matrix with counts and row-normalised shading (recall per true count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    row_totals = [sum(row) or 1 for row in matrix]
    shares = [[value / total for value in row] for row, total in zip(matrix, row_totals, strict=True)]
    figure, axes = plt.subplots(figsize=(1.0 + 0.7 * len(labels), 0.8 + 0.6 * len(labels)))
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for row, values in enumerate(matrix):
        for column, value in enumerate(values):
            colour = "white" if shares[row][column] > 0.5 else "black"
            axes.text(column, row, str(value), ha="center", va="center", color=colour, fontsize=9)
    axes.set_xticks(range(len(labels)), labels)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted count")
    axes.set_ylabel("true count")
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true count")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
