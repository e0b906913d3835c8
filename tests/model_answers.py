"""The endpoint's answer as model_code/inference.py writes it: one builder for every suite's fake model."""

from __future__ import annotations

from typing import Any

from contracts.model_answer import LIKELIHOOD_RATIO, EvidenceRule, model_answer

# The rule the fake model carries: the likelihood ratio over a uniform prior on 0..5, taken at face value.
FAKE_RULE = EvidenceRule(
    LIKELIHOOD_RATIO,
    temperature=1.3,
    slope=1.0,
    intercept=0.0,
    class_prior={str(count): 1 / 6 for count in range(6)},
)


def prediction(count: int, confidence: float, label: str | None = None) -> dict[str, Any]:
    """An answer whose top class is `count` at `confidence`; the rest of the probability is spread evenly
    over the other counts 0..5. At the default costs (2% of records wrong), an answer agreeing with the
    expectation at 0.8 or more is cleared, and one naming another count at 0.999 is flagged as wrong."""
    label = label or str(count)
    rest = (1.0 - confidence) / 5
    probabilities = {str(k): rest for k in range(6) if str(k) != label}
    probabilities[label] = confidence
    return model_answer(
        count=count,
        label=label,
        confidence=confidence,
        probabilities=probabilities,
        model_version="countnet-resnet18-20261121T101500Z",
        rule=FAKE_RULE,
    )
