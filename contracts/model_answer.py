"""The endpoint's answer: its JSON fields, how a reader parses it, and the model's reconciliation rule.

`countnet.serving` builds every answer with `model_answer`; the counting Lambda (and the backfill, which
reads a transform job's answers) parses it with `parse_prediction`. What P(expected count) is, for a count
the model has a class for or one above its largest class, is `label_for_count` here, used by the Lambda's
reconciliation and by `countnet.verification`, which fits the threshold the Lambda applies.
Answer (`application/json`):
    {"predicted_count": 3, "predicted_label": "3", "confidence": 0.61,
     "probabilities": {"0": 0.01, ..., "5": 0.04}, "model_version": "countnet-...",
     "reconciliation_rule": {"mismatch_below": 0.31, "target_catch_rate": 0.8, "temperature": 1.12}}
`reconciliation_rule` is null for a model trained before the rule existed. An open-ended class is
labelled "N+" (for example "6+") and its `predicted_count` is N, a lower bound.
Standard library only: it ships in the Lambda asset, the training source and the model's code/.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

PREDICTED_COUNT = "predicted_count"
PREDICTED_LABEL = "predicted_label"
CONFIDENCE = "confidence"
PROBABILITIES = "probabilities"
MODEL_VERSION = "model_version"
RECONCILIATION_RULE = "reconciliation_rule"
MISMATCH_BELOW = "mismatch_below"
OPEN_ENDED_SUFFIX = "+"


class MalformedPrediction(ValueError):
    """The endpoint answered, but not with the documented answer JSON."""


@dataclass(frozen=True)
class ReconciliationRule:
    """The model's own decision rule, saved in model_config.json and sent with every prediction."""

    mismatch_below: float  # flag a bin when P(expected count) < this
    target_catch_rate: float
    temperature: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ReconciliationRule:
        return cls(
            mismatch_below=float(values["mismatch_below"]),
            target_catch_rate=float(values["target_catch_rate"]),
            temperature=float(values["temperature"]),
        )


def label_for_count(labels: Iterable[str], count: int) -> str | None:
    """The class of a bin holding `count` items: its own label, or an open-ended one ("6+") that bounds it;
    None when the model has no class for it."""
    labels = list(labels)
    if str(count) in labels:
        return str(count)
    for label in labels:
        bound = label[: -len(OPEN_ENDED_SUFFIX)]
        if label.endswith(OPEN_ENDED_SUFFIX) and bound.isdigit() and count >= int(bound):
            return label
    return None


def model_answer(
    *,
    count: int,
    label: str,
    confidence: float,
    probabilities: Mapping[str, float],
    model_version: str,
    rule: ReconciliationRule | None,
) -> dict[str, Any]:
    """The answer JSON (as a dict) for one image."""
    return {
        PREDICTED_COUNT: count,
        PREDICTED_LABEL: label,
        CONFIDENCE: confidence,
        PROBABILITIES: dict(probabilities),
        MODEL_VERSION: model_version,
        RECONCILIATION_RULE: rule.to_dict() if rule else None,
    }


@dataclass(frozen=True)
class Prediction:
    """The endpoint's answer for one image, parsed and checked."""

    count: int
    label: str
    confidence: float
    probabilities: dict[str, float]
    model_version: str
    mismatch_below: float | None = None  # the model's own threshold, when it carries a rule

    @property
    def is_lower_bound(self) -> bool:
        """True for an open-ended class such as "6+", whose count is the smallest it stands for."""
        return self.label.endswith(OPEN_ENDED_SUFFIX)

    def label_for(self, count: int) -> str | None:
        """The class holding `count` items (`label_for_count` over this answer's labels)."""
        return label_for_count(self.probabilities, count)

    def probability_of(self, count: int) -> float:
        """P(the bin holds `count` items); 0 for a count the model has no class for."""
        label = self.label_for(count)
        return 0.0 if label is None else self.probabilities[label]


def parse_prediction(payload: Mapping[str, Any]) -> Prediction:
    """Validate the answer JSON; MalformedPrediction names the first bad field."""
    if not isinstance(payload, Mapping):
        raise MalformedPrediction(f"endpoint response is not a JSON object: {payload!r:.200}")
    count = payload.get(PREDICTED_COUNT)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise MalformedPrediction(f"{PREDICTED_COUNT} {count!r} is not a whole number >= 0")
    label = payload.get(PREDICTED_LABEL)
    if not isinstance(label, str) or not label:
        raise MalformedPrediction(f"{PREDICTED_LABEL} {label!r} is not a class label")
    confidence = _probability(payload.get(CONFIDENCE), CONFIDENCE)
    probabilities = payload.get(PROBABILITIES)
    if not isinstance(probabilities, Mapping) or not probabilities:
        raise MalformedPrediction(f"{PROBABILITIES} is not a map of class label to probability")
    model_version = payload.get(MODEL_VERSION)
    if not isinstance(model_version, str) or not model_version:
        raise MalformedPrediction(f"{MODEL_VERSION} {model_version!r} is not a version string")
    return Prediction(
        count=count,
        label=label,
        confidence=confidence,
        probabilities={str(k): _probability(v, f"{PROBABILITIES}[{k!r}]") for k, v in probabilities.items()},
        model_version=model_version,
        mismatch_below=_rule_threshold(payload.get(RECONCILIATION_RULE)),
    )


def _rule_threshold(rule: Any) -> float | None:
    """The answer's `reconciliation_rule.mismatch_below`; absent (older models) is None."""
    if rule is None:
        return None
    if not isinstance(rule, Mapping):
        raise MalformedPrediction(f"{RECONCILIATION_RULE} {rule!r:.200} is not an object")
    return _probability(rule.get(MISMATCH_BELOW), f"{RECONCILIATION_RULE}.{MISMATCH_BELOW}")


def _probability(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPrediction(f"{field} {value!r} is not a probability")
    if not 0.0 <= value <= 1.0:
        raise MalformedPrediction(f"{field} {value!r} is outside [0, 1]")
    return float(value)
