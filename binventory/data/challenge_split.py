"""Read the ABID-challenge counting split: labels only, as `[index, count]` pairs.

Pair `[i, count]` names image `'%05d' % (i + 1)` of the public bucket, as the challenge's own code
does (`contracts.abid_labels.challenge_image_id`). So ids are zero-padded to at least five digits
(`00001`, `01013`, `535232`) and never name the bucket's separate unpadded photos (`1013`). Ids stay
strings from here on.
"""

from __future__ import annotations

import json
from pathlib import Path

from contracts.abid_labels import challenge_image_id

TRAIN_FILE = "abid_challenge_counting_train.json"
VALIDATION_FILE = "abid_challenge_counting_val.json"


class ChallengeSplitError(ValueError):
    """A challenge split file is missing or not a list of `[index, count]` pairs."""


def read_challenge_labels(path: Path) -> dict[str, int]:
    """image id -> count for one split file; a repeated index with two counts is refused."""
    try:
        pairs = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ChallengeSplitError(f"cannot read {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise ChallengeSplitError(f"{path} is not JSON: {error}") from error
    if not isinstance(pairs, list) or not pairs:
        raise ChallengeSplitError(f"{path} must be a non-empty JSON list of [index, count] pairs")
    labels: dict[str, int] = {}
    for position, pair in enumerate(pairs):
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in pair)
        ):
            raise ChallengeSplitError(
                f"{path}: entry {position} is {pair!r}; expected [index, count] with whole numbers >= 0"
            )
        image_id = challenge_image_id(pair[0])
        if labels.get(image_id, pair[1]) != pair[1]:
            raise ChallengeSplitError(
                f"{path}: index {pair[0]} appears with counts {labels[image_id]} and {pair[1]}"
            )
        labels[image_id] = pair[1]
    return labels


def read_challenge_split(folder: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(train, validation) labels from the challenge's two counting files in `folder` (disjoint)."""
    train = read_challenge_labels(Path(folder) / TRAIN_FILE)
    validation = read_challenge_labels(Path(folder) / VALIDATION_FILE)
    shared = sorted(set(train) & set(validation))
    if shared:
        raise ChallengeSplitError(
            f"{len(shared)} image(s) are in both the challenge's train and val files (e.g. {shared[0]}); "
            "the files are not the challenge's split"
        )
    return train, validation
