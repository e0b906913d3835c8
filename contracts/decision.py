"""The decision a warehouse acts on: from the model's answer and an expected quantity to clear, look or flag.

Two halves, each owned by someone else:
- The model's `EvidenceRule` (`contracts.model_answer`): how strongly a photo says the expected quantity is
  wrong. train.py fits it on validation and it comes with every answer (`reconciliation_rule`). The
  statistic is the likelihood ratio of "off by one or more" against "right" (the model's probabilities
  divided by the training class frequencies they were learnt under, Saerens et al. 2002), or
  1 - P(expected); a logistic map fitted on validation's planted errors turns it into the log-odds that
  the record is wrong when half of the records are.
- The warehouse's `DecisionCosts`: the share of records that are wrong before any photo is seen, what a
  look costs and what a missed error costs (cdk.json `counting.decision`). They shift those log-odds to the
  warehouse's own rate of wrong records and set the bar for a look.
The posterior q = P(record wrong | photo) then decides: clear when clearing costs less than a look
(q x missed-error cost < look cost), flag as wrong when the record is more likely wrong than right
(q >= 1/2), and look otherwise. Standard library only: it ships in the Lambda, the training source and the
model's code/.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum

from contracts.model_answer import EXPECTED_PROBABILITY, OPEN_ENDED_SUFFIX, EvidenceRule, label_for_count

FLAG_AT = 0.5  # flag as wrong when the record is more likely wrong than right
# "Off by one or more": half of all wrong records are one item off (either way, where both exist); the other
# half are off by 2 to LARGEST_ERROR items, all equally likely. A heavier tail than the one-off share alone
# lets a photo that plainly holds many more items than expected be called wrong.
ONE_OFF_SHARE = 0.5
LARGEST_ERROR = 20
_FLOOR = 1e-9  # probabilities are clipped here: a log of 0 says nothing a tiny number does not


class Outcome(StrEnum):
    """What a warehouse does with one photo's verdict."""

    CLEAR = "clear"  # nobody looks
    LOOK = "look"  # a person checks the bin
    FLAG = "flag"  # the record is more likely wrong than right: a recount, first in the queue


@dataclass(frozen=True)
class DecisionCosts:
    """A warehouse's prior rate of wrong records and the price of a look and of a missed error."""

    wrong_record_rate: float
    look_cost: float
    missed_error_cost: float

    def __post_init__(self) -> None:
        if not 0.0 < self.wrong_record_rate < 1.0:
            raise ValueError(f"wrong_record_rate must be between 0 and 1, got {self.wrong_record_rate}")
        if self.look_cost <= 0 or self.missed_error_cost <= 0:
            raise ValueError(
                f"look_cost and missed_error_cost must be positive, got {self.look_cost} and "
                f"{self.missed_error_cost}"
            )

    @property
    def look_above(self) -> float:
        """The posterior above which a look costs less than the error it may leave in the records."""
        return self.look_cost / self.missed_error_cost

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


# The defaults, in US dollars, and where each comes from (cdk.json's counting.decision repeats them):
# - 2% of records wrong: a warehouse run on a WMS with scanning targets 97% or better location accuracy,
#   that is 1-3% wrong bins;
# - a look is about one minute of a person at a goods-to-person station, at $18.03 an hour, the mean wage
#   of hand laborers and material movers (BLS OEWS May 2022, occupation 53-7062): $0.30;
# - a missed error costs what a mis-pick does, $22 (Intermec/Pcdata survey of distribution managers,
#   as cited by Red Stag Fulfillment and Midwest Storage Solutions); the wrong record is found later,
#   when a pick comes up short.
DEFAULT_COSTS = DecisionCosts(wrong_record_rate=0.02, look_cost=0.30, missed_error_cost=22.0)


def count_probability(probabilities: Mapping[str, float], count: int, tail_ratio: float) -> float:
    """P(the bin holds exactly `count` items): its class's probability, a share of an open-ended class's
    ("16+") by the geometric tail, or 0 when the model has no class for it."""
    label = label_for_count(probabilities, count)
    if label is None:
        return 0.0
    if not label.endswith(OPEN_ENDED_SUFFIX):
        return probabilities[label]
    first = int(label[: -len(OPEN_ENDED_SUFFIX)])
    return probabilities[label] * (1.0 - tail_ratio) * tail_ratio ** (count - first)


def error_weights(expected: int) -> dict[int, float]:
    """P(the bin holds n | the record `expected` is wrong), for every n it puts weight on."""
    one_off = [n for n in (expected - 1, expected + 1) if n >= 0]
    farther = [
        n
        for distance in range(2, LARGEST_ERROR + 1)
        for n in (expected - distance, expected + distance)
        if n >= 0
    ]
    weights = dict.fromkeys(one_off, ONE_OFF_SHARE / len(one_off))
    for n in farther:
        weights[n] = weights.get(n, 0.0) + (1.0 - ONE_OFF_SHARE) / len(farther)
    return weights


def statistic(probabilities: Mapping[str, float], expected: int, rule: EvidenceRule) -> float:
    """How strongly the photo says `expected` is wrong: log likelihood ratio, or logit(1 - P(expected))."""
    if rule.statistic == EXPECTED_PROBABILITY:
        p_expected = min(max(count_probability(probabilities, expected, rule.tail_ratio), _FLOOR), 1 - _FLOOR)
        return math.log((1.0 - p_expected) / p_expected)

    def likelihood(count: int) -> float:
        """P(photo | count) up to a constant: the model's probability over the prior it was trained on."""
        model = count_probability(probabilities, count, rule.tail_ratio)
        prior = count_probability(rule.class_prior, count, rule.tail_ratio)
        return max(model, _FLOOR) / max(prior, _FLOOR)

    wrong = sum(weight * likelihood(n) for n, weight in error_weights(expected).items())
    return math.log(wrong / likelihood(expected))


def wrong_probability(
    probabilities: Mapping[str, float], expected: int, rule: EvidenceRule, wrong_record_rate: float
) -> float:
    """q = P(the record is wrong | the photo), at the warehouse's own rate of wrong records."""
    slope, intercept = rule.log_odds_map(expected)
    log_odds = slope * statistic(probabilities, expected, rule) + intercept
    log_odds += math.log(wrong_record_rate / (1.0 - wrong_record_rate))
    return 1.0 / (1.0 + math.exp(-max(min(log_odds, 700.0), -700.0)))


def decide(wrong: float, costs: DecisionCosts) -> Outcome:
    """Flag when more likely wrong than right; look when a look costs less than what clearing risks."""
    if wrong >= FLAG_AT:
        return Outcome.FLAG
    if wrong * costs.missed_error_cost > costs.look_cost:
        return Outcome.LOOK
    return Outcome.CLEAR
