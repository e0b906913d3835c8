"""The endpoint's answer as model_code/inference.py writes it: one builder for every suite's fake model."""

from __future__ import annotations

from typing import Any

from contracts.model_answer import ReconciliationRule, model_answer

MODEL_MISMATCH_BELOW = 0.4  # the rule the fake model carries: flag a bin when P(expected) < 0.4


def prediction(count: int, confidence: float, label: str | None = None) -> dict[str, Any]:
    """An answer whose top class is `count` at `confidence`; the rest of the probability is spread evenly
    over the other counts 0..5."""
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
        rule=ReconciliationRule(mismatch_below=MODEL_MISMATCH_BELOW, target_catch_rate=0.8, temperature=1.3),
    )
