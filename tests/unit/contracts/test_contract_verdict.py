"""The "why" text states the figures the decision rule judged each record on, with the right bar."""

from __future__ import annotations

import pytest

from contracts.decision import DEFAULT_COSTS, Outcome, decide
from contracts.verdict import NO_EXPECTATION, NO_RULE, percent, why

LOOK_ABOVE = DEFAULT_COSTS.look_above  # 0.30 / 22 = 1.36%


def counted(status: str, wrong: float, expected: int = 4, p: float = 0.41) -> dict:
    return {
        "status": status,
        "expected_quantity": expected,
        "expected_probability": p,
        "wrong_probability": wrong,
        "look_above": LOOK_ABOVE,
    }


@pytest.mark.parametrize(
    ("wrong", "status", "text"),
    [
        (0.009, "MATCH", "P(4)=0.41, wrong 0.90% ≤ 1.4%"),
        (0.12, "LOW_CONFIDENCE", "P(4)=0.41, wrong 12% > 1.4%"),
        (0.73, "MISMATCH", "P(4)=0.41, wrong 73% ≥ 50%"),
    ],
)
def test_each_verdict_names_its_evidence_and_the_bar_it_was_held_against(
    wrong: float, status: str, text: str
) -> None:
    # the status the rule gives this q is the one the text explains
    assert {Outcome.CLEAR: "MATCH", Outcome.LOOK: "LOW_CONFIDENCE", Outcome.FLAG: "MISMATCH"}[
        decide(wrong, DEFAULT_COSTS)
    ] == status
    assert why(counted(status, wrong)) == text


def test_a_count_other_than_the_expected_one_still_says_why_it_cleared() -> None:
    # expected 4, predicted 5, but P(4) high enough that a look costs more than the error it could find
    record = counted("MATCH", 0.004, p=0.62) | {"predicted_count": 5}
    assert why(record) == "P(4)=0.62, wrong 0.40% ≤ 1.4%"


def test_an_expected_zero_is_shown_as_zero() -> None:
    assert why(counted("MISMATCH", 0.9, expected=0, p=0.01)).startswith("P(0)=0.01")


def test_records_without_a_verdict_say_what_they_lack() -> None:
    assert why({"status": "NO_EXPECTATION"}) == NO_EXPECTATION
    assert why({"status": "LOW_CONFIDENCE", "expected_quantity": 3}) == NO_RULE
    assert why({"status": "INVALID_IMAGE", "reason": "not a JPEG or PNG"}) == "not a JPEG or PNG"


def test_small_probabilities_keep_their_figures() -> None:
    assert [percent(v) for v in (0.5, 0.0136, 0.0009, 0.00001)] == ["50%", "1.4%", "0.09%", "<0.01%"]
