"""The endpoint's answer: what `model_answer` writes is what `parse_prediction` reads, field for field."""

from __future__ import annotations

import json

import pytest

from contracts.model_answer import (
    LIKELIHOOD_RATIO,
    EvidenceRule,
    MalformedPrediction,
    label_for_count,
    model_answer,
    parse_prediction,
)

RULE = EvidenceRule(
    statistic=LIKELIHOOD_RATIO,
    temperature=1.2,
    slope=0.9,
    intercept=-0.1,
    class_prior={"0": 0.5, "1": 0.5},
    tail_ratio=0.4,
    bands=((6, 0.2, -0.3),),
)


def test_an_answer_written_by_serving_s_builder_parses_back_whole() -> None:
    probabilities = {"0": 0.1, "1": 0.2, "2": 0.3, "3": 0.2, "4": 0.1, "5": 0.05, "6+": 0.05}
    answer = model_answer(
        count=2, label="2", confidence=0.3, probabilities=probabilities, model_version="m-1", rule=RULE
    )

    parsed = parse_prediction(json.loads(json.dumps(answer)))

    assert (parsed.count, parsed.label, parsed.confidence, parsed.model_version) == (2, "2", 0.3, "m-1")
    assert parsed.probabilities == probabilities
    assert parsed.rule == RULE
    assert EvidenceRule.from_dict(answer["reconciliation_rule"]) == RULE


def test_a_model_without_a_rule_answers_null_and_parses_as_no_rule() -> None:
    answer = model_answer(
        count=0, label="0", confidence=1.0, probabilities={"0": 1.0}, model_version="m", rule=None
    )

    assert answer["reconciliation_rule"] is None
    assert parse_prediction(answer).rule is None
    # a model of the former format carried a bare threshold: it has no evidence rule either
    former = {
        **answer,
        "reconciliation_rule": {"mismatch_below": 0.3, "target_catch_rate": 0.8, "temperature": 1},
    }
    assert parse_prediction(former).rule is None


@pytest.mark.parametrize(
    ("field", "value"), [("statistic", "magic"), ("tail_ratio", 1.5), ("temperature", 0), ("slope", "steep")]
)
def test_a_malformed_evidence_rule_is_refused_naming_it(field: str, value: object) -> None:
    answer = model_answer(
        count=1, label="1", confidence=0.9, probabilities={"1": 0.9}, model_version="m", rule=RULE
    )
    answer["reconciliation_rule"][field] = value
    with pytest.raises(MalformedPrediction, match="reconciliation_rule"):
        parse_prediction(answer)


@pytest.mark.parametrize(
    ("labels", "count", "label"),
    [
        (["0", "1", "2"], 2, "2"),
        (["0", "1", "2"], 3, None),
        (["0", "1", "2", "3+"], 3, "3+"),
        (["0", "1", "2", "3+"], 9, "3+"),
        (["0", "1", "2", "3+"], -1, None),
    ],
)
def test_a_count_is_held_by_its_own_class_or_an_open_ended_one_above_it(
    labels: list[str], count: int, label: str | None
) -> None:
    assert label_for_count(labels, count) == label


def test_a_malformed_answer_names_the_field() -> None:
    answer = model_answer(
        count=1, label="1", confidence=0.9, probabilities={"1": 0.9}, model_version="m", rule=RULE
    )
    with pytest.raises(MalformedPrediction, match="confidence"):
        parse_prediction({**answer, "confidence": 1.5})
