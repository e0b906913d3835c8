"""The local pipeline's reconciliation report: totals, accuracy, caught errors, a table and an HTML page."""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from rich.console import Console
from rich.text import Text

from binventory.inventory.output import Column, print_table
from binventory.local.uploads import PlannedImage
from contracts.inventory_schema import FLAGGED_STATUSES, STATUS_PRESENTATION, RecordAttr, Status
from contracts.verdict import why

THUMBNAIL_SIZE = (160, 120)
# An upload with no record at all: worse than any status, so it heads the table.
MISSING = "MISSING"
MISSING_STYLE = "bold red"
# The table's order: problems first, then flags, then what needs no one.
REPORT_ORDER = (
    Status.INVALID_IMAGE,
    Status.MISMATCH,
    Status.LOW_CONFIDENCE,
    Status.NO_EXPECTATION,
    Status.OBJECT_MISSING,
    Status.MATCH,
)


@dataclass(frozen=True)
class Outcome:
    """One planned image joined with the inventory record the pipeline wrote for it (if any)."""

    planned: PlannedImage
    record: dict[str, Any] | None

    @property
    def status(self) -> str:
        return str(self.record.get(RecordAttr.STATUS)) if self.record else MISSING

    @property
    def predicted(self) -> int | None:
        value = self.record.get("predicted_count") if self.record else None
        return None if value is None else int(value)

    @property
    def confidence(self) -> float | None:
        value = self.record.get("confidence") if self.record else None
        return None if value is None else float(value)


@dataclass(frozen=True)
class Summary:
    """The figures a person checks first."""

    uploaded: int
    recorded: int
    by_status: dict[str, int]
    dead_letters: int
    counted: int
    agree_with_expected: int
    correct_vs_truth: int
    with_truth: int
    planted_errors: int
    planted_errors_flagged: int
    correct_expectations: int
    false_alarms: int  # correct expectations flagged, counted exactly as planted errors are

    @property
    def cleared_automatically(self) -> int:
        """Correct expectations the pipeline cleared with no one looking (MATCH)."""
        return self.correct_expectations - self.false_alarms

    @property
    def accuracy_vs_expected(self) -> float:
        return self.agree_with_expected / self.counted if self.counted else 0.0

    @property
    def accuracy_vs_truth(self) -> float:
        return self.correct_vs_truth / self.with_truth if self.with_truth else 0.0


def join_outcomes(planned: list[PlannedImage], records: list[dict[str, Any]]) -> list[Outcome]:
    """Match each planned upload to its record by object key (one record per object version)."""
    by_key: dict[str, dict[str, Any]] = {}
    for record in records:
        by_key[str(record.get("image_key"))] = record
    return [Outcome(p, by_key.get(p.key)) for p in planned]


def summarize(outcomes: list[Outcome], dead_letters: int) -> Summary:
    """Totals by status, accuracy against expectations and truth, and planted errors caught."""
    counted = [o for o in outcomes if o.predicted is not None and o.planned.expected is not None]
    with_truth = [o for o in outcomes if o.predicted is not None and o.planned.true_count is not None]
    # A flag is any status that sends a person to the bin; catches and false alarms both count it.
    flagged = {status.value for status in FLAGGED_STATUSES}
    planted = [o for o in outcomes if o.planned.planted_error]
    honest = [
        o
        for o in outcomes
        if not o.planned.planted_error
        and o.planned.true_count is not None
        and o.planned.expected is not None
        and o.predicted is not None
    ]
    return Summary(
        uploaded=len(outcomes),
        recorded=sum(1 for o in outcomes if o.record),
        by_status=dict(Counter(o.status for o in outcomes)),
        dead_letters=dead_letters,
        counted=len(counted),
        agree_with_expected=sum(1 for o in counted if o.predicted == o.planned.expected),
        correct_vs_truth=sum(1 for o in with_truth if o.predicted == o.planned.true_count),
        with_truth=len(with_truth),
        planted_errors=len(planted),
        planted_errors_flagged=sum(1 for o in planted if o.status in flagged),
        correct_expectations=len(honest),
        false_alarms=sum(1 for o in honest if o.status in flagged),
    )


def render_table(outcomes: list[Outcome], console: Console, max_rows: int = 60) -> None:
    """Bins with expected vs counted, status and why; problems first. The CLI's table (`print_table`): legible
    at 80 characters, short columns never cut, the why column wrapping at spaces; a planted error is a `*`
    after its bin."""
    shown = sort_for_report(outcomes)[:max_rows]
    rows = [
        {
            "bin": outcome.planned.bin_id + ("*" if outcome.planned.planted_error else ""),
            "expected": outcome.planned.expected,
            "count": outcome.predicted,
            "confidence": outcome.confidence,
            "status": outcome.status,
            "why": why(outcome.record) if outcome.record else "no record yet",
        }
        for outcome in shown
    ]
    columns = (
        Column("bin", "bin"),
        Column("expected", "expected", number=True),
        Column("count", "count", number=True),
        Column("conf", "confidence", number=True),
        Column("status", lambda row: Text(row["status"], style=_status_style(row["status"]))),
        Column("why", "why", wrap=True),
    )
    print_table("Reconciliation", columns, rows, "No uploads to report.", console=console)
    if any(outcome.planned.planted_error for outcome in shown):
        console.print("* a planted error: the expected quantity was made wrong on purpose")
    if len(outcomes) > max_rows:
        console.print(f"... {len(outcomes) - max_rows} more rows in the HTML report")


def sort_for_report(outcomes: list[Outcome]) -> list[Outcome]:
    """Problems first, then flags, then what needs no one; by bin within each."""
    order = {s: i for i, s in enumerate([MISSING, *REPORT_ORDER])}
    return sorted(outcomes, key=lambda o: (order.get(o.status, 99), o.planned.bin_id))


def explain(outcome: Outcome) -> str:
    """The rule's reason for the status (contracts.verdict), and what the demo planted in the upload."""
    planned = outcome.planned
    planted = "planted error; " if planned.planted_error else ""
    if outcome.record is None:
        return planted + "no record yet"
    return planted + (why(outcome.record) or planned.invalid_reason or "")


def render_summary(summary: Summary, console: Console) -> None:
    """The totals block under the table."""
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(summary.by_status.items()))
    console.print(
        f"[bold]Uploaded[/] {summary.uploaded}   [bold]recorded[/] {summary.recorded}   "
        f"[bold]dead-lettered[/] {summary.dead_letters}"
    )
    console.print(f"[bold]By status[/]: {statuses}")
    console.print(
        f"[bold]Predicted = expected[/]: {summary.agree_with_expected}/{summary.counted} "
        f"({summary.accuracy_vs_expected:.1%})"
    )
    if summary.with_truth:
        console.print(
            f"[bold]Predicted = true count[/]: {summary.correct_vs_truth}/{summary.with_truth} "
            f"({summary.accuracy_vs_truth:.1%})"
        )
    if summary.planted_errors:
        console.print(
            f"[bold]Planted inventory errors flagged[/] (MISMATCH or LOW_CONFIDENCE): "
            f"{summary.planted_errors_flagged}/{summary.planted_errors}   "
            f"[bold]false alarms[/] (correct expectations flagged): "
            f"{summary.false_alarms}/{summary.correct_expectations}   "
            f"[bold]cleared automatically[/]: {summary.cleared_automatically}/{summary.correct_expectations}"
        )


def write_html_report(
    outcomes: list[Outcome], summary: Summary, path: Path, title: str, *, synthetic: bool = False
) -> Path:
    """A single self-contained page: summary, confusion matrix, the bins that need a look with their photos,
    confidence and the rule's reason, and a sortable table of every bin. Synthetic data says so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    matrix_png = path.with_name("confusion_matrix.png")
    write_confusion_matrix_png(outcomes, matrix_png)
    flagged = [o for o in sort_for_report(outcomes) if o.status not in {Status.MATCH.value}]
    cards = "\n".join(_card(o, synthetic) for o in flagged)
    statuses = "".join(f"<li>{html.escape(s)}: {n}</li>" for s, n in sorted(summary.by_status.items()))
    truth_line = (
        (
            f"<p>Predicted = true count: {summary.correct_vs_truth}/{summary.with_truth} "
            f"({summary.accuracy_vs_truth:.1%})</p>"
        )
        if summary.with_truth
        else ""
    )
    planted_line = (
        (
            f"<p>Planted inventory errors flagged (MISMATCH or LOW_CONFIDENCE): "
            f"{summary.planted_errors_flagged}/{summary.planted_errors}; false alarms (correct "
            f"expectations flagged): {summary.false_alarms}/{summary.correct_expectations}; cleared "
            f"automatically: {summary.cleared_automatically}/{summary.correct_expectations}</p>"
        )
        if summary.planted_errors
        else ""
    )
    heading = f"{title} ({SYNTHETIC_LABEL})" if synthetic else title
    banner = f'<p class="synthetic">{SYNTHETIC_NOTICE}</p>' if synthetic else ""
    status_colours = " ".join(f".{s.value}{{color:{look.colour}}}" for s, look in STATUS_PRESENTATION.items())
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(heading)}</title>
<style>body{{font-family:sans-serif;margin:2em}} .cards{{display:flex;flex-wrap:wrap;gap:12px}}
.card{{border:1px solid #ccc;padding:6px;width:190px;font-size:12px}}
.synthetic{{background:#fff3cd;padding:4px 8px;font-weight:bold}} .tag{{font-size:10px;color:#8a6d3b}}
table.bins{{border-collapse:collapse;font-size:13px}}
.bins th,.bins td{{border:1px solid #ddd;padding:2px 6px}}
.bins th{{cursor:pointer;background:#f4f4f4}} .bins td.n{{text-align:right}}
{status_colours}</style></head><body>
<h1>{html.escape(heading)}</h1>
{banner}
<p>Uploaded {summary.uploaded}, recorded {summary.recorded}, dead-lettered {summary.dead_letters}.</p>
<ul>{statuses}</ul>
<p>Predicted = expected: {summary.agree_with_expected}/{summary.counted}
({summary.accuracy_vs_expected:.1%})</p>
{truth_line}{planted_line}
<h2>Predicted vs expected</h2>
<img src="{matrix_png.name}" alt="confusion matrix of predicted vs expected counts">
<h2>Bins that need a look ({len(flagged)})</h2><div class="cards">{cards}</div>
<h2>All bins ({len(outcomes)}; click a heading to sort)</h2>
{_bins_table(outcomes)}
<script>{SORT_SCRIPT}</script>
</body></html>
"""
    path.write_text(page)
    return path


SYNTHETIC_LABEL = "synthetic data"
SYNTHETIC_NOTICE = (
    "Synthetic data: these bin images were generated for the demo (countnet.synthetic), not photographed "
    "in a warehouse."
)
# Sorts the table of all bins by the clicked column: numbers as numbers, the rest as text; again reverses.
SORT_SCRIPT = """
document.querySelectorAll("table.bins th").forEach((th, column) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0];
  const up = th.dataset.order !== "up";
  th.dataset.order = up ? "up" : "down";
  const key = row => { const text = row.cells[column].dataset.sort ?? row.cells[column].textContent;
    const number = parseFloat(text); return isNaN(number) ? text : number; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }).forEach(row => body.appendChild(row));
}));
"""


def _bins_table(outcomes: list[Outcome]) -> str:
    headings = ("bin", "image", "expected", "count", "confidence", "status", "why")
    rows = []
    for outcome in sort_for_report(outcomes):
        planned = outcome.planned
        cells = [
            f"<td>{html.escape(planned.bin_id)}</td>",
            f"<td>{html.escape(planned.image_id)}</td>",
            f'<td class="n">{_show(planned.expected)}</td>',
            f'<td class="n">{_show(outcome.predicted)}</td>',
            f'<td class="n">{"-" if outcome.confidence is None else f"{outcome.confidence:.2f}"}</td>',
            f'<td class="{html.escape(outcome.status)}">{html.escape(outcome.status)}</td>',
            f"<td>{html.escape(explain(outcome))}</td>",
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{heading}</th>" for heading in headings)
    body = "".join(rows)
    return f'<table class="bins" id="all-bins"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def write_confusion_matrix_png(outcomes: list[Outcome], path: Path) -> Path:
    """Heat map of expected (rows) against predicted (columns) counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [
        (o.planned.expected, o.predicted)
        for o in outcomes
        if o.planned.expected is not None and o.predicted is not None
    ]
    # The model predicts a few counts, but warehouse bins can expect dozens: expectations beyond the largest
    # prediction share one last row ("N+"), so the picture stays readable.
    columns = max([p for _, p in pairs], default=0) + 1
    rows = columns + 1
    matrix = [[0] * columns for _ in range(rows)]
    for expected, predicted in pairs:
        matrix[min(expected, columns)][predicted] += 1
    figure, axes = plt.subplots(figsize=(1.4 + 0.6 * columns, 1.0 + 0.6 * rows))
    axes.imshow(matrix, cmap="Blues")
    for row in range(rows):
        for column in range(columns):
            if matrix[row][column]:
                axes.text(column, row, str(matrix[row][column]), ha="center", va="center", fontsize=9)
    axes.set_xlabel("predicted count")
    axes.set_ylabel("expected count")
    axes.set_xticks(range(columns))
    axes.set_yticks(range(rows), [str(r) for r in range(columns)] + [f"{columns}+"])
    axes.set_title("Predicted vs expected")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _card(outcome: Outcome, synthetic: bool) -> str:
    planned = outcome.planned
    thumbnail = _thumbnail_data_uri(planned.source_path)
    alt = f"{'synthetic ' if synthetic else ''}bin image {planned.image_id}"
    image = f'<img src="{thumbnail}" alt="{html.escape(alt)}">' if thumbnail else "<p>(no valid image)</p>"
    confidence = "" if outcome.confidence is None else f", confidence {outcome.confidence:.2f}"
    tag = f'<div class="tag">{SYNTHETIC_LABEL}</div>' if synthetic and thumbnail else ""
    return (
        f'<div class="card">{image}{tag}<div class="{html.escape(outcome.status)}">'
        f"<b>{html.escape(outcome.status)}</b></div><div>bin {html.escape(planned.bin_id)}</div>"
        f"<div>expected {_show(planned.expected)}, predicted {_show(outcome.predicted)}{confidence}</div>"
        f"<div>{html.escape(explain(outcome))}</div></div>"
    )


def _thumbnail_data_uri(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        with Image.open(path) as image:
            image.thumbnail(THUMBNAIL_SIZE)
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=80)
    except OSError:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _show(value: int | None) -> str:
    return "-" if value is None else str(value)


def _status_style(status: str) -> str:
    """The status's colour (contracts.inventory_schema), MISSING (no record at all) in bold red."""
    return STATUS_PRESENTATION[Status(status)].style if status in Status else MISSING_STYLE
