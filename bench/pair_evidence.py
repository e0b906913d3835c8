"""Does a bin's previous photo help judge its record? Measured on validation pairs, with no training.

A bin is often photographed again after a stow or a pick (`contracts.same_bin`). When its record was already
off by one item before that transaction and the transaction was recorded right, the record is off by the same
item after it: both photos hold evidence against one offset. The photos are independent given their counts,
so their likelihoods multiply, and the pair can say what neither photo says alone. (When the error arises in
the transaction itself, the earlier record is right and its photo adds nothing the record does not; only a
model that compares the two photos could help there: the pair loss is the training side of that question.)

For every validation pair (ids at most two apart, a shared ASIN, counts that differ: a stow or a pick),
records are planted on the later photo as benchmark 1 plants them, one item either way where the model could
err, in two kinds: the error carried (the earlier record off by the same item) and the error new (the
earlier record right). Each record is scored
- by the later photo alone: the model's own statistic (1 - P(expected), as shipped), and the likelihood ratio
  of one item off against right;
- by both photos, taking every error as carried: the ratio of "both off by the same item" to "both right";
- by both photos, taking an error as carried or new alike: the earlier photo's ratio for each offset, half
  weighted, times the later photo's (a rule that does not know which kind it faces).
The figure is the AUROC within each expected count of the later photo (0.5 for a model that ignores the
image), for pairs whose later photo holds 2..5 items and for all pairs, with each model's paired 95%
bootstrap interval over bins for "carried or new alike" minus the shipped statistic. Validation only: no
test photo is read. Appends a section to bench/EXPERIMENTS.md.

    python bench/pair_evidence.py .local/models/abid bench/out/seed-1 bench/out/seed-2 --note "..."
"""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from abid_bench_data import DEFAULT_ABID_DIR, RE_ENCODED_DIR
from countnet.verification import Records, class_prior, probability_maps, tail_ratio, within_count_auroc
from results import machine_description
from validation_experiments import EXPERIMENTS_FILE, Run, load_run

from contracts.decision import count_probability, statistic
from contracts.fixed_split import read_photo_facts, read_split_entries
from contracts.label_corrections import read_corrections
from contracts.model_answer import EXPECTED_PROBABILITY, EvidenceRule, label_for_count
from contracts.same_bin import NEIGHBOUR_DISTANCE, id_series

BOOTSTRAP_ROUNDS = 1000
SCORES = (
    "later photo: 1 - P(expected)",
    "later photo: likelihood ratio",
    "both photos: every error carried",
    "both photos: carried or new alike",
)
KINDS = ("carried", "new")
CARRIED_SHARE = 0.5  # "alike": an error is as likely carried through the transaction as made in it
FLOOR = 1e-9


@dataclass(frozen=True)
class Pair:
    earlier: str
    later: str
    bin_group: str


def validation_pairs() -> tuple[list[Pair], dict[str, int]]:
    """Stow-or-pick pairs among the validation photos, and every photo's (corrected) count."""
    corrections = read_corrections()
    facts = read_photo_facts(DEFAULT_ABID_DIR, [RE_ENCODED_DIR], corrections)
    entries = read_split_entries()
    validation = sorted(
        (id_series(i), i) for i, entry in entries.items() if entry.split == "validation" and id_series(i)
    )
    pairs = []
    for index, ((series, number), image_id) in enumerate(validation):
        for (later_series, later_number), later_id in validation[index + 1 :]:
            if later_series != series or later_number - number > NEIGHBOUR_DISTANCE:
                break
            first, second = facts[image_id], facts[later_id]
            if first.asins and second.asins and first.asins & second.asins and first.count != second.count:
                pairs.append(Pair(image_id, later_id, entries[image_id].bin_group))
    return pairs, {image_id: fact.count for image_id, fact in facts.items()}


def _likelihood(probabilities: dict[str, float], prior: dict[str, float], count: int, tail: float) -> float:
    """P(photo | count) up to a constant: the model's probability over the training prior it learnt under."""
    if count < 0:
        return 0.0
    model = count_probability(probabilities, count, tail)
    return max(model, FLOOR) / max(count_probability(prior, count, tail), FLOOR)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def scored_records(run: Run, pairs: list[Pair], counts: dict[str, int], train_counts: list[int]):
    """(records keyed to the later photo, each record's kind, scores per statistic, bin groups)."""
    labels = run.label_space.labels
    prior = class_prior(train_counts, run.label_space)
    tail = tail_ratio(train_counts, run.label_space)
    row_of = {image_id: row for row, image_id in enumerate(run.image_ids)}
    maps = probability_maps(run.probabilities, labels)
    shipped = EvidenceRule(EXPECTED_PROBABILITY, 1.0, 1.0, 0.0, prior, tail)  # only its statistic is read
    later, expected, wrong, kinds, groups = [], [], [], [], []
    scores: dict[str, list[float]] = {name: [] for name in SCORES}
    for pair in pairs:
        a, b = maps[row_of[pair.earlier]], maps[row_of[pair.later]]
        n_a, n_b = counts[pair.earlier], counts[pair.later]
        planted = [("right", n_a, n_b)]
        for offset in (-1, 1):
            if n_b + offset >= 0 and label_for_count(labels, n_b + offset) != label_for_count(labels, n_b):
                planted += [("carried", n_a + offset, n_b + offset), ("new", n_a, n_b + offset)]
        for kind, e_a, e_b in planted:
            if e_a < 0:
                continue
            # "off by o": the counts are e - o; one item either way, where a count remains
            ones_off = [o for o in (-1, 1) if e_b - o >= 0]
            alone = {
                o: _likelihood(b, prior, e_b - o, tail) / _likelihood(b, prior, e_b, tail) for o in ones_off
            }
            earlier = {
                o: _likelihood(a, prior, e_a - o, tail) / _likelihood(a, prior, e_a, tail) for o in ones_off
            }
            scores[SCORES[0]].append(statistic(b, e_b, shipped))
            scores[SCORES[1]].append(math.log(_mean([alone[o] for o in ones_off])))
            scores[SCORES[2]].append(math.log(max(_mean([earlier[o] * alone[o] for o in ones_off]), FLOOR)))
            alike = _mean([(CARRIED_SHARE * earlier[o] + 1 - CARRIED_SHARE) * alone[o] for o in ones_off])
            scores[SCORES[3]].append(math.log(alike))
            later.append(row_of[pair.later]), expected.append(e_b), wrong.append(kind != "right")
            kinds.append(kind), groups.append(pair.bin_group)
    records = Records(np.asarray(later), np.asarray(expected), np.asarray(wrong, bool))
    return records, np.asarray(kinds), {k: np.asarray(v) for k, v in scores.items()}, np.asarray(groups)


def _pooled(records: Records, scores: np.ndarray, keep: np.ndarray) -> float:
    return within_count_auroc(records.subset(keep), scores[keep])[0]


def gain_interval(records: Records, scores: dict[str, np.ndarray], groups: np.ndarray, keep: np.ndarray):
    """Paired 95% bootstrap interval over bins of ("carried or new alike" - the shipped statistic)."""
    rng = np.random.default_rng(0)
    names = np.unique(groups[keep])
    rows_of = {name: np.flatnonzero(keep & (groups == name)) for name in names}
    gains = []
    for _ in range(BOOTSTRAP_ROUNDS):
        rows = np.concatenate([rows_of[n] for n in rng.choice(names, len(names))])
        sample = records.subset(rows)
        alike = within_count_auroc(sample, scores[SCORES[3]][rows])[0]
        shipped = within_count_auroc(sample, scores[SCORES[0]][rows])[0]
        if not (math.isnan(alike) or math.isnan(shipped)):
            gains.append(alike - shipped)
    return float(np.percentile(gains, 2.5)), float(np.percentile(gains, 97.5))


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model_dirs", nargs="+", type=Path, help="models (seeds of one recipe) to score with")
    parser.add_argument("--note", default="", help="what the figures say, in a sentence or two")
    args = parser.parse_args()
    pairs, counts = validation_pairs()
    entries = read_split_entries()
    train_counts = [counts[i] for i, entry in entries.items() if entry.split == "train"]
    ranges = {"2..5": range(2, 6), "any count": range(0, 1_000_000)}
    cases = [(r, kind) for r in ranges for kind in KINDS]
    rows: dict = {case: {name: [] for name in SCORES} for case in cases}
    gains: dict = {case: [] for case in cases}
    sizes = {}
    for model_dir in args.model_dirs:
        run = load_run(model_dir, counts)
        records, kinds, scores, groups = scored_records(run, pairs, counts, train_counts)
        later_counts = np.asarray([run.counts[i] for i in records.image])
        for photos, kind in cases:
            keep = np.isin(later_counts, list(ranges[photos])) & np.isin(kinds, ["right", kind])
            sizes[photos, kind] = (
                int(keep.sum()),
                int((keep & ~records.wrong).sum()),
                len(set(groups[keep])),
            )
            for score in SCORES:
                rows[photos, kind][score].append(_pooled(records, scores[score], keep))
            low, high = gain_interval(records, scores, groups, keep)
            gains[photos, kind].append(f"[{low:+.3f}, {high:+.3f}]")
        print(f"scored {model_dir}", flush=True)

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        f"## A bin's previous photo: both photos of a stow or a pick ({when})",
        "",
        f"`python bench/pair_evidence.py {' '.join(str(d) for d in args.model_dirs)}`: "
        f"{len(pairs)} validation pairs (ids at most {NEIGHBOUR_DISTANCE} apart, a shared ASIN, counts that "
        "differ). Wrong records are planted on the later photo, one item either way; *carried*: the earlier "
        "record was off by the same item; *new*: the earlier record was right. AUROC within each expected "
        "count of the later photo, pooled, mean ± standard deviation over the models; the last column is "
        'each model\'s paired 95% bootstrap interval over bins for "carried or new alike" minus the shipped '
        "statistic.",
        "",
        *([args.note, ""] if args.note else []),
        f"Machine: {machine_description()}. Validation part of contracts/abid_split.csv only.",
        "",
        "| later photo holds | error | records (right) | bins | "
        + " | ".join(SCORES)
        + " | gain, alike - shipped |",
        "|---|---|---:|---:|" + "---:|" * len(SCORES) + "---|",
    ]
    for photos, kind in cases:
        total, right, bins = sizes[photos, kind]
        cells = " | ".join(_spread(rows[photos, kind][score]) for score in SCORES)
        section.append(
            f"| {photos} | {kind} | {total} ({right}) | {bins} | {cells} | {'; '.join(gains[photos, kind])} |"
        )
    text = "\n".join(section) + "\n"
    print(text)
    EXPERIMENTS_FILE.write_text(EXPERIMENTS_FILE.read_text().rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
