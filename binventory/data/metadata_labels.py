"""Label images of the public bucket from their `metadata/<id>.json`: in parallel, resumable, one rule.

The rule is the ABID label rule, `contracts.abid_labels` (`EXPECTED_QUANTITY`, else the sum of the
`BIN_FCSKU_DATA` quantities), the one train.py applies to a folder of ABID metadata, so a manifest labels
each image exactly as training on fetched files would.

Each answer is appended to a JSON-lines cache as it arrives (`{"id": "01013", "count": 3}`, or a null
count with the problem); a re-run skips the ids already there, so an interrupted scan of the bucket's
~536K metadata objects resumes where it stopped. Transient failures (network, throttling) stay out
of the cache and are retried by the next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from binventory.data import public_bucket
from binventory.data.public_bucket import NotInPublicBucket, VerificationFailed
from contracts.abid_labels import metadata_count

MISSING = "missing from the bucket"
NOT_JSON = "not valid JSON"
NO_COUNT = "no usable EXPECTED_QUANTITY or BIN_FCSKU_DATA quantities"


def list_ids(client: Any, bucket: str, prefix: str, suffix: str) -> set[str]:
    """Ids of the objects `<prefix><id><suffix>` in the bucket (`bin-images/01013.jpg` -> `01013`)."""
    ids: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith(suffix) and len(key) > len(prefix) + len(suffix):
                ids.add(key[len(prefix) : -len(suffix)])
    return ids


@dataclass(frozen=True)
class CachedLabel:
    count: int | None
    problem: str = ""


class LabelCache:
    """The JSON-lines file of answers so far; a line cut short by an interruption is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, CachedLabel] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self.entries[str(entry["id"])] = CachedLabel(entry["count"], entry.get("problem", ""))
                except (ValueError, KeyError, TypeError):
                    continue

    def record(self, handle: Any, image_id: str, label: CachedLabel) -> None:
        self.entries[image_id] = label
        entry: dict[str, Any] = {"id": image_id, "count": label.count}
        if label.problem:
            entry["problem"] = label.problem
        handle.write(json.dumps(entry) + "\n")

    def counts(self, image_ids: Iterable[str]) -> dict[str, int]:
        """id -> count for the ids that have a usable label."""
        found = ((i, self.entries.get(i)) for i in image_ids)
        return {i: entry.count for i, entry in found if entry is not None and entry.count is not None}


@dataclass
class ScanReport:
    """What one run did: answers read now, answers the cache already had, and retryable failures."""

    read: int = 0
    cached: int = 0
    problems: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def scan_metadata(
    client: Any,
    bucket: str,
    image_ids: Iterable[str],
    cache: LabelCache,
    workers: int,
    on_done: Callable[[], None] = lambda: None,
) -> ScanReport:
    """Read the metadata of every id the cache lacks, `workers` at a time, recording each answer."""
    report = ScanReport()
    requested = list(dict.fromkeys(image_ids))
    todo = []
    for image_id in requested:
        if image_id in cache.entries:
            report.cached += 1
            on_done()
        else:
            todo.append(image_id)
    chunk = max(1, workers * 32)  # bounded: never hundreds of thousands of futures at once
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    with cache.path.open("a", encoding="utf-8") as handle, ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            outcomes = pool.map(lambda image_id: _read(client, bucket, image_id), batch)
            for image_id, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, CachedLabel):
                    cache.record(handle, image_id, outcome)
                    report.read += 1
                else:
                    report.failed[image_id] = outcome
                on_done()
            handle.flush()
    for image_id in requested:
        entry = cache.entries.get(image_id)
        if entry is not None and entry.count is None:
            report.problems[image_id] = entry.problem
    return report


def _read(client: Any, bucket: str, image_id: str) -> CachedLabel | str:
    """The label of one image, or (a string) why the read failed in a way worth retrying."""
    try:
        document = public_bucket.read_json_object(client, bucket, public_bucket.metadata_key(image_id))
    except NotInPublicBucket:
        return CachedLabel(None, MISSING)
    except VerificationFailed:
        return CachedLabel(None, NOT_JSON)
    except (ClientError, BotoCoreError) as error:
        return str(error) or type(error).__name__
    count = metadata_count(document.parsed)
    return CachedLabel(count, "" if count is not None else NO_COUNT)
