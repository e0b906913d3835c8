"""The endpoint's answer: its JSON fields, how a reader parses it, and the model's evidence rule.

`countnet.serving` builds every answer with `model_answer`; the counting Lambda (and the backfill, which
reads a transform job's answers) parses it with `parse_prediction`. Which class holds a count, for a count
the model has a class for or one above its largest class, is `label_for_count` here, used by the Lambda's
decision (`contracts.decision`) and by `countnet.verification`, which fits the rule the Lambda applies.
Answer (`application/json`):
    {"predicted_count": 3, "predicted_label": "3", "confidence": 0.61,
     "probabilities": {"0": 0.01, ..., "15": 0.0, "16+": 0.0}, "model_version": "countnet-...",
     "reconciliation_rule": {"statistic": "likelihood_ratio", "temperature": 1.1, "slope": 0.9,
                             "intercept": 0.1, "class_prior": {"0": 0.01, ...}, "tail_ratio": 0.8}}
`reconciliation_rule` is null (or of an older form, which counts as none) for a model trained before the
evidence rule. An open-ended class is labelled "N+" (for example "16+") and its `predicted_count` is N, a
lower bound.
Standard library only: it ships in the Lambda asset, the training source and the model's code/.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

PREDICTED_COUNT = "predicted_count"
PREDICTED_LABEL = "predicted_label"
CONFIDENCE = "confidence"
PROBABILITIES = "probabilities"
MODEL_VERSION = "model_version"
RECONCILIATION_RULE = "reconciliation_rule"
OPEN_ENDED_SUFFIX = "+"


class MalformedPrediction(ValueError):
    """The endpoint answered, but not with the documented answer JSON."""


# How the evidence against an expected count is measured (contracts.decision computes both).
LIKELIHOOD_RATIO = "likelihood_ratio"
EXPECTED_PROBABILITY = "expected_probability"
STATISTICS = (LIKELIHOOD_RATIO, EXPECTED_PROBABILITY)


@dataclass(frozen=True)
class EvidenceRule:
    """The model's own evidence rule, fitted on validation, saved in model_config.json, sent in every answer.

    `statistic` says how a photo's evidence against an expected count is measured (`contracts.decision`):
    the likelihood ratio of "off by one or more" against "right", or 1 - P(expected). `class_prior` maps
    each label to its share of the training photos; `tail_ratio` spreads an open-ended class ("16+") over
    the counts it holds, P(n) = P(open) (1 - r) r^(n - first); `slope` and `intercept` map the statistic to
    the log-odds that the record is wrong when half the records are wrong. `bands` give expectations from a
    count up their own map, `(first count, slope, intercept)`: the evidence a photo gives about a bin
    expected to hold 12 is weaker than about one expected to hold 3, and one map for both would overstate it.
    """

    statistic: str
    temperature: float
    slope: float
    intercept: float
    class_prior: dict[str, float] = field(default_factory=dict)
    tail_ratio: float = 0.0
    bands: tuple[tuple[int, float, float], ...] = ()

    def log_odds_map(self, expected: int) -> tuple[float, float]:
        """(slope, intercept) for an expected count: its band's, else the first map."""
        chosen = (self.slope, self.intercept)
        for first, slope, intercept in sorted(self.bands):
            if expected >= first:
                chosen = (slope, intercept)
        return chosen

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {self.statistic!r}")
        if not 0.0 <= self.tail_ratio < 1.0:
            raise ValueError(f"tail_ratio must be in [0, 1), got {self.tail_ratio}")
        numbers = [self.slope, self.intercept, *(n for _, *band in self.bands for n in band)]
        if not self.temperature > 0 or not all(math.isfinite(n) for n in numbers):
            raise ValueError(f"temperature {self.temperature}, slopes and intercepts must be finite, T > 0")

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["bands"] = [{"from": f, "slope": s, "intercept": i} for f, s, i in self.bands]
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> EvidenceRule:
        return cls(
            statistic=str(values["statistic"]),
            temperature=float(values["temperature"]),
            slope=float(values["slope"]),
            intercept=float(values["intercept"]),
            class_prior={str(k): float(v) for k, v in dict(values.get("class_prior") or {}).items()},
            tail_ratio=float(values.get("tail_ratio") or 0.0),
            bands=tuple(
                (int(band["from"]), float(band["slope"]), float(band["intercept"]))
                for band in values.get("bands") or ()
            ),
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
    rule: EvidenceRule | None,
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
    rule: EvidenceRule | None = None  # the model's own evidence rule; None for a model trained before it

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
        rule=_evidence_rule(payload.get(RECONCILIATION_RULE)),
    )


def _evidence_rule(rule: Any) -> EvidenceRule | None:
    """The answer's `reconciliation_rule`; absent, or a rule of an older format, is None (no rule)."""
    if rule is None:
        return None
    if not isinstance(rule, Mapping):
        raise MalformedPrediction(f"{RECONCILIATION_RULE} {rule!r:.200} is not an object")
    if "statistic" not in rule:
        return None  # a model trained before the evidence rule: judged as having none
    try:
        return EvidenceRule.from_dict(rule)
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedPrediction(
            f"{RECONCILIATION_RULE} {rule!r:.200} is not an evidence rule: {error}"
        ) from error


def _probability(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPrediction(f"{field} {value!r} is not a probability")
    if not 0.0 <= value <= 1.0:
        raise MalformedPrediction(f"{field} {value!r} is outside [0, 1]")
    return float(value)
