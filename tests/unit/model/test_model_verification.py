"""Is the expected quantity right? Calibration, planted errors, the evidence rule and its figures, by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from countnet.labels import LabelSpace
from countnet.verification import (
    auroc,
    bootstrap_errors,
    class_prior,
    decision_figures,
    expected_calibration_error,
    fit_evidence,
    fit_logistic,
    fit_temperature,
    probability_maps,
    reconciliation_records,
    record_statistics,
    separation_figures,
    tail_ratio,
    within_count_auroc,
)

from contracts.decision import DEFAULT_COSTS, DecisionCosts, count_probability
from contracts.model_answer import EXPECTED_PROBABILITY, LIKELIHOOD_RATIO, STATISTICS, EvidenceRule

OPEN = LabelSpace(max_count=15, over_max="bucket")


def test_auroc_is_the_share_of_positive_negative_pairs_ranked_right_ties_half() -> None:
    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0]), np.array([2.0])) == 0.0
    # pairs: (2,1) right, (2,2) tie, (2,3) wrong, (5,*) right -> (1 + 0.5 + 0 + 3) / 6
    assert auroc(np.array([2.0, 5.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(4.5 / 6)


def test_temperature_scaling_recovers_the_temperature_the_labels_were_drawn_with() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 6, generator=generator) * 3
    labels = torch.multinomial((logits / 2.0).softmax(dim=1), 1, generator=generator).squeeze(1)
    assert fit_temperature(logits, labels.tolist()) == pytest.approx(2.0, rel=0.08)


def test_calibration_error_is_small_when_confidence_matches_accuracy() -> None:
    rng = np.random.default_rng(0)
    probabilities = np.tile([0.7, 0.3], (1000, 1))
    honest = (rng.random(1000) > 0.7).astype(int)  # class 0 right 70% of the time
    assert expected_calibration_error(probabilities, honest.tolist()) < 0.03
    assert expected_calibration_error(probabilities, [1] * 1000) == pytest.approx(0.7)


def test_errors_are_planted_only_where_the_model_could_err() -> None:
    # given photos of 0, 5, 15 and 17 items, for a model of 0..15 and "16+"
    records = reconciliation_records([0, 5, 15, 17], OPEN, photos=None)
    rows = sorted(zip(records.image.tolist(), records.expected.tolist(), records.wrong.tolist(), strict=True))

    # then an empty bin gets only "one too many"; 15 gets 16 (the "16+" class, which the model can name);
    # 17 is right as "16+" but 16 and 18 are the same class as 17: not planted, and counted as left out
    assert rows == [
        (0, 0, False),
        (0, 1, True),
        (1, 4, True),
        (1, 5, False),
        (1, 6, True),
        (2, 14, True),
        (2, 15, False),
        (2, 16, True),
        (3, 17, False),
    ]
    assert records.untellable == 2
    # and a range of counts keeps only the photos in it
    assert set(reconciliation_records([0, 5, 15, 17], OPEN, photos=range(2, 6)).image.tolist()) == {1}


def test_a_model_that_ignores_the_image_scores_half_within_each_count_whatever_the_mix() -> None:
    # given a skewed mix of counts and a model that answers the training frequencies for every photo
    space = LabelSpace(max_count=5)
    counts = [1] * 50 + [2] * 10 + [3] * 30 + [4] * 5 + [5] * 40
    prior = class_prior(counts, space)
    probabilities = np.tile([prior[label] for label in space.labels], (len(counts), 1))
    maps = probability_maps(probabilities, space.labels)
    records = reconciliation_records(counts, space, photos=range(2, 6))

    for name in STATISTICS:
        rule = EvidenceRule(name, 1.0, 1.0, 0.0, prior, 0.0)
        scores = record_statistics(maps, records, rule)
        within, per_count = within_count_auroc(records, scores)
        # then within each expected count it cannot tell right from wrong
        assert within == pytest.approx(0.5) and set(per_count.values()) == {0.5}
    # while the pooled AUROC of 1 - P(expected) moves with the mix alone
    rule = EvidenceRule(EXPECTED_PROBABILITY, 1.0, 1.0, 0.0, prior, 0.0)
    pooled = separation_figures(record_statistics(maps, records, rule), records)["auroc"]
    assert abs(pooled - 0.5) > 0.05


def test_the_likelihood_ratio_ranks_an_image_that_favours_another_count_above_one_that_agrees() -> None:
    space = LabelSpace(max_count=5)
    prior = dict.fromkeys(space.labels, 1 / 6)
    agrees = {"0": 0.02, "1": 0.02, "2": 0.02, "3": 0.9, "4": 0.02, "5": 0.02}
    favours_four = {"0": 0.02, "1": 0.02, "2": 0.02, "3": 0.02, "4": 0.9, "5": 0.02}
    records = reconciliation_records([3, 4], space, photos=None)
    rule = EvidenceRule(LIKELIHOOD_RATIO, 1.0, 1.0, 0.0, prior, 0.0)
    scores = record_statistics([agrees, favours_four], records, rule)
    at_three = {
        int(image): score
        for image, e, score in zip(records.image, records.expected, scores, strict=True)
        if e == 3
    }
    assert at_three[1] > at_three[0]  # expecting 3 on the photo of 4 is the more suspicious record


def test_the_logistic_map_recovers_the_slope_and_intercept_the_labels_were_drawn_with() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=20000) * 2
    wrong = rng.random(20000) < 1 / (1 + np.exp(-(1.5 * scores - 0.5)))
    slope, intercept = fit_logistic(scores, wrong)
    # classes are weighted equally, so the intercept absorbs the sample's share of wrong records
    share = wrong.mean()
    assert slope == pytest.approx(1.5, rel=0.06)
    assert intercept == pytest.approx(-0.5 - np.log(share / (1 - share)), abs=0.08)


def test_a_statistic_that_falls_with_wrong_records_is_not_used_as_evidence() -> None:
    space = LabelSpace(max_count=5)
    # a model that puts its mass one item away from the truth: P(expected) is high exactly when wrong
    counts = [1, 2, 3, 4] * 20
    probabilities = np.asarray([np.roll([0.9, 0.02, 0.02, 0.02, 0.02, 0.02], c + 1) for c in counts])
    maps = probability_maps(probabilities, space.labels)
    records = reconciliation_records(counts, space, photos=None)
    rule = fit_evidence(
        maps, records, statistic_name=EXPECTED_PROBABILITY, temperature=1.0, prior={}, tail=0.0
    )
    assert (rule.slope, rule.intercept) == (0.0, 0.0)


def test_expectations_above_five_get_their_own_map_and_none_where_the_photo_says_nothing() -> None:
    # given a model that tells counts apart up to 5 and answers at random above
    rng = np.random.default_rng(0)
    counts = [c for c in range(1, 12) for _ in range(60)]
    rows = []
    for count in counts:
        row = rng.dirichlet(np.ones(17)) if count > 5 else np.eye(17)[count] * 0.8 + 0.2 / 17
        rows.append(row / row.sum())
    maps = probability_maps(np.asarray(rows), OPEN.labels)
    records = reconciliation_records(counts, OPEN, photos=None)
    prior = class_prior(counts, OPEN)

    # when the evidence rule is fitted with a band from 6 items on
    rule = fit_evidence(
        maps,
        records,
        statistic_name=LIKELIHOOD_RATIO,
        temperature=1.0,
        prior=prior,
        tail=0.5,
        band_starts=(6,),
    )

    # then the photo's evidence counts up to 5 and much less (or not at all) above
    ((first, slope, _),) = rule.bands
    assert first == 6 and rule.slope > 0.5 and slope < 0.2
    assert rule.log_odds_map(3) == (rule.slope, rule.intercept) and rule.log_odds_map(9)[0] == slope


def test_the_tail_spreads_the_open_class_over_its_counts_as_the_training_counts_do() -> None:
    counts = [16] * 50 + [17] * 25 + [18] * 13 + [19] * 6 + [20] * 6  # about halving per item
    ratio = tail_ratio(counts, OPEN)
    excess = np.mean([c - 16 for c in counts])
    assert ratio == pytest.approx(excess / (1 + excess))
    assert tail_ratio(counts, LabelSpace(max_count=5)) == 0.0  # no open class, no tail
    probabilities = {**{str(k): 0.0 for k in range(16)}, "16+": 0.5}
    assert sum(count_probability(probabilities, n, ratio) for n in range(16, 400)) == pytest.approx(0.5)
    assert count_probability(probabilities, 9, ratio) == 0.0


def test_the_cost_of_a_rule_sits_between_looking_at_everything_and_at_nothing() -> None:
    space = LabelSpace(max_count=5)
    records = reconciliation_records([2, 3, 4], space, photos=None)
    costs = DecisionCosts(wrong_record_rate=0.02, look_cost=0.3, missed_error_cost=22.0)
    look_all = decision_figures(np.ones(len(records.wrong)) * 0.9, records, costs)
    look_none = decision_figures(np.zeros(len(records.wrong)), records, costs)
    perfect = decision_figures(records.wrong.astype(float), records, costs)

    assert look_all["cost_per_1000_bins"] == pytest.approx(300.0)  # 1,000 looks at $0.30
    assert look_none["cost_per_1000_bins"] == pytest.approx(440.0)  # 20 missed errors at $22
    assert perfect["cost_per_1000_bins"] == pytest.approx(20 * 0.3)  # a look at each wrong record only
    assert (perfect["caught"], perfect["cleared"]) == (1.0, 1.0)
    assert look_all["cost_per_1000_bins_look_at_all"] == 300.0
    assert look_none["cost_per_1000_bins_look_at_none"] == pytest.approx(440.0)


def test_standard_errors_resample_whole_bins() -> None:
    # given four photos of one bin: every resample draws that bin, so no figure can vary
    space = LabelSpace(max_count=5)
    counts = [2, 3, 3, 4]
    records = reconciliation_records(counts, space, photos=None)
    scores = np.linspace(0, 1, len(records.wrong))
    errors = bootstrap_errors(scores, None, records, ["bin-a"] * 4, DEFAULT_COSTS)
    assert errors["auroc"] == 0.0
    # and over four bins it does
    assert bootstrap_errors(scores, None, records, ["a", "b", "c", "d"], DEFAULT_COSTS)["auroc"] > 0
