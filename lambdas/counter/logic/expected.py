"""Which expected quantity applies to an image, by the documented order of precedence.

1. the ABID metadata JSON beside the image (`metadata/<image_id>.json`, `EXPECTED_QUANTITY`);
2. the object's own metadata (`x-amz-meta-expected-quantity`);
3. the bin's `expected_quantity` in the bin state table (loaded by `binventory inventory load-expected`).
The first source that has a well-formed value wins. A malformed value is never silently skipped:
it is reported in `problems` (recorded as the item's `reason`) and the next source is tried.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contracts.inventory_schema import ExpectedSource

METADATA_FIELD = "EXPECTED_QUANTITY"


class MalformedExpectation(ValueError):
    """A source holds an expected quantity, but not one that can be used."""


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


def parse_quantity(raw: Any) -> int:
    """A whole, non-negative number of items from a JSON number, a string or a DynamoDB Decimal."""
    if isinstance(raw, bool):
        raise MalformedExpectation(f"expected quantity {raw!r} is not a number")
    if isinstance(raw, str):
        text = raw.strip()
        if not text.isdigit():
            raise MalformedExpectation(f"expected quantity {raw!r} is not a whole number >= 0")
        return int(text)
    if isinstance(raw, int | float | Decimal):
        if not math.isfinite(raw) or raw < 0 or raw != int(raw):
            raise MalformedExpectation(f"expected quantity {raw!r} is not a whole number >= 0")
        return int(raw)
    raise MalformedExpectation(f"expected quantity {raw!r} is not a number")


def quantity_in_metadata_document(document: bytes, name: str) -> Any:
    """The raw `EXPECTED_QUANTITY` of an ABID metadata document named `name`."""
    try:
        parsed = json.loads(document)
    except ValueError as error:
        raise MalformedExpectation(f"{name} is not valid JSON ({error})") from error
    if not isinstance(parsed, dict) or METADATA_FIELD not in parsed:
        raise MalformedExpectation(f"{name} has no {METADATA_FIELD} field")
    value = parsed[METADATA_FIELD]
    if value is None:
        raise MalformedExpectation(f"{name} has {METADATA_FIELD} null")
    return value
