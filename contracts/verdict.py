"""Why a record has its status, in a few words: the figures the decision rule judged it on.

A MATCH where the count differs from the expectation is right under the rule (contracts.decision), but only
the figures say so: the model's P(expected count), the probability q that the record is wrong, and the bar q
was held against (the record's `look_above` for clear or look, FLAG_AT for a flag). The CLI's tables and
the local report show this one text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.decision import FLAG_AT
from contracts.inventory_schema import RecordAttr, Status

NO_RULE = "model has no evidence rule"
NO_EXPECTATION = "no expected quantity"


def percent(value: float) -> str:
    """A probability as a short percentage that keeps two significant figures where it is small."""
    if value >= 0.1:
        return f"{value:.0%}"
    if value >= 0.01:
        return f"{value:.1%}"
    if value >= 0.0001:
        return f"{value:.2%}"
    return "<0.01%"


def _probability(value: float) -> str:
    return "<0.01" if value < 0.005 else f"{value:.2f}"


def why(record: Mapping[str, Any]) -> str:
    """`P(4)=0.41, wrong 0.9% ≤ 1.4%`: what the status was decided on; the reason for the others."""
    status = record.get(RecordAttr.STATUS)
    reason = str(record.get(RecordAttr.REASON) or "")
    if status in (Status.INVALID_IMAGE, Status.OBJECT_MISSING):
        return reason
    if status == Status.NO_EXPECTATION:
        return NO_EXPECTATION
    expected = record.get(RecordAttr.EXPECTED_QUANTITY)
    wrong = record.get(RecordAttr.WRONG_PROBABILITY)
    look_above = record.get(RecordAttr.LOOK_ABOVE)
    if wrong is None or look_above is None or expected is None:
        return NO_RULE if status == Status.LOW_CONFIDENCE else reason
    wrong, look_above = float(wrong), float(look_above)
    if status == Status.MISMATCH:
        bar = f"≥ {percent(FLAG_AT)}"
    elif status == Status.LOW_CONFIDENCE:
        bar = f"> {percent(look_above)}"
    else:
        bar = f"≤ {percent(look_above)}"
    probability = record.get(RecordAttr.EXPECTED_PROBABILITY)
    evidence = "" if probability is None else f"P({expected})={_probability(float(probability))}, "
    return f"{evidence}wrong {percent(wrong)} {bar}"
