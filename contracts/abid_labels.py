"""The ABID expected-quantity rule: how many items a bin photo's metadata says it holds, written once.

ABID publishes each photo `bin-images/<id>.jpg` with `metadata/<id>.json`. The count of a photo is its
metadata's `EXPECTED_QUANTITY`; when that field is absent, the sum of the `quantity` of every item listed
in `BIN_FCSKU_DATA`. Every value is read by one strict rule, `parse_quantity`: a whole number >= 0 (a JSON
number without a fraction, or a string of digits); 2.9, -1, "three" and true are refused, with a message
that says what was wrong. A document that states no count (neither field, or no listed item) is refused too,
rather than read as an empty bin.

Training (`countnet.data`), the manifest builder and `binventory data fetch/sample`, and the counting Lambda
(the metadata JSON beside an ABID upload) all read metadata through this module, so one file never gets two
labels. Ids are strings: `1013` and `01013` are different photos; ABID names its photos by a number
zero-padded to five digits (`abid_image_id`), and the ABID challenge's pair `[i, count]` is photo `i + 1`.
Standard library only: it ships in the Lambda asset, the training source and the model's code/.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

EXPECTED_QUANTITY_FIELD = "EXPECTED_QUANTITY"
ITEMS_FIELD = "BIN_FCSKU_DATA"
ITEM_QUANTITY_FIELD = "quantity"
# The rules in words, as a manifest dataset's summary.json records how its labels and ids were made.
LABEL_RULE = "contracts.abid_labels: EXPECTED_QUANTITY, else the sum of the BIN_FCSKU_DATA quantities"
CHALLENGE_ID_RULE = "pair [i, count] is image '%05d' % (i + 1)"


class MalformedExpectation(ValueError):
    """A value or document states an expected quantity, but not one that can be used; the message says why."""


def parse_quantity(raw: Any) -> int:
    """A whole number of items >= 0, from a JSON number, a string of digits or a DynamoDB Decimal."""
    problem = _quantity_problem(raw)
    if problem:
        raise MalformedExpectation(f"expected quantity {raw!r} {problem}")
    return int(raw.strip() if isinstance(raw, str) else raw)


def expected_quantity(document: Any) -> int:
    """The count an ABID metadata document states: EXPECTED_QUANTITY, else the sum of its items' quantities.

    Raises MalformedExpectation saying what is wrong (as a predicate: "has no EXPECTED_QUANTITY ...")
    when the document states no usable count.
    """
    if not isinstance(document, Mapping):
        raise MalformedExpectation("is not a JSON object")
    if EXPECTED_QUANTITY_FIELD in document:
        value = document[EXPECTED_QUANTITY_FIELD]
        if value is None:
            raise MalformedExpectation(f"has {EXPECTED_QUANTITY_FIELD} null")
        return _whole(value, EXPECTED_QUANTITY_FIELD)
    items = document.get(ITEMS_FIELD)
    if not isinstance(items, Mapping) or not items:
        raise MalformedExpectation(
            f"has no {EXPECTED_QUANTITY_FIELD} field and no {ITEMS_FIELD} items to add up"
        )
    total = 0
    for name, item in items.items():
        if not isinstance(item, Mapping) or ITEM_QUANTITY_FIELD not in item:
            raise MalformedExpectation(f"has {ITEMS_FIELD} item {name!r} without a {ITEM_QUANTITY_FIELD}")
        total += _whole(item[ITEM_QUANTITY_FIELD], f"{ITEMS_FIELD} item {name!r} {ITEM_QUANTITY_FIELD}")
    return total


def quantity_in_metadata_document(document: bytes | str, name: str) -> int:
    """The count the ABID metadata file `name` (its bytes) states; MalformedExpectation names the file."""
    try:
        parsed = json.loads(document)
    except ValueError as error:
        raise MalformedExpectation(f"{name} is not valid JSON ({error})") from error
    try:
        return expected_quantity(parsed)
    except MalformedExpectation as error:
        raise MalformedExpectation(f"{name} {error}") from error


def metadata_count(document: Any) -> int | None:
    """`expected_quantity`, or None for a document that states no usable count (for readers that skip)."""
    try:
        return expected_quantity(document)
    except MalformedExpectation:
        return None


def abid_image_id(number: int) -> str:
    """ABID's name for photo `number`: zero-padded to at least five digits (`1013` -> `01013`)."""
    if number < 0:
        raise ValueError(f"ABID photo numbers are not negative, got {number}")
    return f"{number:05d}"


def challenge_image_id(index: int) -> str:
    """The photo of the challenge's pair `[index, count]`: `0` -> `00001`, `1012` -> `01013`."""
    if index < 0:
        raise ValueError(f"challenge index {index} is negative")
    return abid_image_id(index + 1)


def _quantity_problem(raw: Any) -> str | None:
    """Why `raw` is not a whole number >= 0 ("is not a number", ...), or None when it is one."""
    if isinstance(raw, bool):
        return "is not a number"
    if isinstance(raw, str):
        text = raw.strip()
        return None if text.isascii() and text.isdigit() else "is not a whole number >= 0"
    if isinstance(raw, int | float | Decimal):
        whole = math.isfinite(raw) and raw >= 0 and raw == int(raw)
        return None if whole else "is not a whole number >= 0"
    return "is not a number"


def _whole(raw: Any, what: str) -> int:
    problem = _quantity_problem(raw)
    if problem:
        raise MalformedExpectation(f"has {what} {raw!r}, which {problem}")
    return int(raw.strip() if isinstance(raw, str) else raw)
