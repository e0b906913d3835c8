"""Pick "N images per count" from the public bucket by reading metadata of seeded random ids.

ABID has no index by count, so candidates are drawn from the bucket's zero-padded id range
(`00001`, ..., `100000`, ...) in a seeded order and kept while their class still has room.
Results are taken in candidate order, so the same seed picks the same ids however threads finish.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from binventory.data import public_bucket
from binventory.data.fetch import metadata_path
from binventory.data.public_bucket import JsonObject, NotInPublicBucket, VerificationFailed
from contracts.abid_labels import abid_image_id, metadata_count


@dataclass(frozen=True)
class SampleRequest:
    per_class: int
    max_count: int
    seed: int
    id_max: int
    max_candidates: int


def candidate_ids(seed: int, id_max: int, how_many: int) -> list[str]:
    """Seeded ids in ABID's naming (`abid_image_id`), drawn without replacement from 1..id_max."""
    numbers = random.Random(seed).sample(range(1, id_max + 1), min(how_many, id_max))
    return [abid_image_id(number) for number in numbers]


def sample_from_metadata(
    client: Any,
    bucket: str,
    dest: Path,
    request: SampleRequest,
    workers: int,
    on_checked: Callable[[], None] = lambda: None,
) -> dict[str, int]:
    """Chosen id -> count; the chosen ids' metadata is saved (verified) under dest/metadata/."""
    wanted = range(request.max_count + 1)
    chosen: dict[str, int] = {}
    filled: Counter[int] = Counter()
    candidates = candidate_ids(request.seed, request.id_max, request.max_candidates)
    batch_size = max(1, workers * 4)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(candidates), batch_size):
            batch = candidates[start : start + batch_size]
            for image_id, read in zip(
                batch, pool.map(lambda i: _read_metadata(client, bucket, i), batch), strict=True
            ):
                on_checked()
                count = _expected_quantity(read)
                if count is None or count not in wanted or filled[count] >= request.per_class:
                    continue
                public_bucket.write_verified(read.body, metadata_path(dest, image_id), read.facts)
                chosen[image_id] = count
                filled[count] += 1
            if all(filled[count] >= request.per_class for count in wanted):
                break
    return chosen


def _read_metadata(client: Any, bucket: str, image_id: str) -> JsonObject | None:
    try:
        return public_bucket.read_json_object(client, bucket, public_bucket.metadata_key(image_id))
    except (NotInPublicBucket, VerificationFailed, ClientError, BotoCoreError):
        return None


def _expected_quantity(read: JsonObject | None) -> int | None:
    """The count the metadata states by the ABID label rule, or None."""
    return None if read is None else metadata_count(read.parsed)
