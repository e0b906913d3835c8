"""Which expected quantity applies to an image, by the documented order of precedence.

1. the ABID metadata JSON beside the image (`metadata/<image_id>.json`), read by the ABID label rule
   (`contracts.abid_labels`: `EXPECTED_QUANTITY`, else the sum of the `BIN_FCSKU_DATA` quantities);
2. the object's own metadata (`x-amz-meta-expected-quantity`);
3. the bin's `expected_quantity` in the bin state table (loaded by `binventory inventory load-expected`).
The first source that has a well-formed value wins; every value is read by the one whole-number rule,
`contracts.abid_labels.parse_quantity`. A malformed value is never silently skipped: it is reported in
`problems` (recorded as the item's `reason`) and the next source is tried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from contracts.abid_labels import MalformedExpectation, parse_quantity
from contracts.inventory_schema import ExpectedSource


@dataclass(frozen=True)
class ExpectedQuantity:
    """The expected quantity that applies (None: no source has one) and what was skipped on the way."""

    quantity: int | None
    source: ExpectedSource | None
    problems: tuple[str, ...] = ()


# A lookup reads one source lazily: None when the source has no value, else the raw value;
# it raises MalformedExpectation when the source exists but cannot be read.
ExpectedLookup = tuple[ExpectedSource, Callable[[], Any]]


def resolve_expected_quantity(lookups: Iterable[ExpectedLookup]) -> ExpectedQuantity:
    """Try each source in order (calling a lookup only when every earlier one gave nothing usable)."""
    problems: list[str] = []
    for source, lookup in lookups:
        try:
            raw = lookup()
            if raw is None:
                continue
            return ExpectedQuantity(parse_quantity(raw), source, tuple(problems))
        except MalformedExpectation as error:
            problems.append(f"{source.value}: {error}")
    return ExpectedQuantity(None, None, tuple(problems))
