"""Download ABID images and metadata concurrently, skipping files already on disk and verified.

Local layout (the same as the shared ABID sample): `images/<id>.jpg`, `metadata/<id>.json`, `labels.csv`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from binventory.data import public_bucket
from binventory.data.public_bucket import NotInPublicBucket, VerificationFailed
from contracts.abid_labels import metadata_count

LABELS_FILE = "labels.csv"
LABEL_COLUMNS = ("image_id", "expected_quantity")


@dataclass
class FetchReport:
    """What one run did; `failed` objects are worth a re-run, `missing` ones are not."""

    downloaded: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def image_path(dest: Path, image_id: str) -> Path:
    return dest / "images" / f"{image_id}.jpg"


def metadata_path(dest: Path, image_id: str) -> Path:
    return dest / "metadata" / f"{image_id}.json"


def planned_objects(dest: Path, image_ids: Iterable[str]) -> dict[str, Path]:
    """Bucket key -> local path for each id's image and metadata."""
    plan: dict[str, Path] = {}
    for image_id in image_ids:
        plan[public_bucket.image_key(image_id)] = image_path(dest, image_id)
        plan[public_bucket.metadata_key(image_id)] = metadata_path(dest, image_id)
    return plan


def fetch_objects(
    client: Any,
    bucket: str,
    plan: dict[str, Path],
    workers: int,
    on_done: Callable[[], None] = lambda: None,
) -> FetchReport:
    """Fetch every planned object; one object's failure is recorded and never stops the others."""
    report = FetchReport()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_fetch_one, client, bucket, key, path): key for key, path in plan.items()}
        try:
            for future in as_completed(futures):
                key = futures[future]
                try:
                    outcome = future.result()
                except NotInPublicBucket:
                    report.missing.append(key)
                except (VerificationFailed, ClientError, BotoCoreError, OSError) as error:
                    report.failed[key] = str(error) or type(error).__name__
                else:
                    (report.downloaded if outcome == "downloaded" else report.already_present).append(key)
                on_done()
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return report


def _fetch_one(client: Any, bucket: str, key: str, path: Path) -> str:
    facts = public_bucket.object_facts(client, bucket, key)
    if public_bucket.is_verified(path, facts):
        return "present"
    public_bucket.download_verified(client, bucket, key, path, facts)
    return "downloaded"


def verified_image_ids(report: FetchReport) -> list[str]:
    """Ids whose image this run downloaded or found whole on disk."""
    prefix = public_bucket.IMAGES_PREFIX
    keys = report.downloaded + report.already_present
    return [key[len(prefix) : -len(".jpg")] for key in keys if key.startswith(prefix)]


def write_labels(dest: Path, image_ids: Iterable[str], known_counts: dict[str, int]) -> int:
    """Merge the counts of verified images into labels.csv (earlier runs' rows stay); returns its rows.

    The count the metadata states (the ABID label rule, `contracts.abid_labels`) wins over a count stated
    by the subset list.
    """
    labels = _read_labels(dest / LABELS_FILE)
    for image_id in image_ids:
        count = _metadata_file_count(metadata_path(dest, image_id))
        if count is None:
            count = known_counts.get(image_id)
        if count is not None:
            labels[image_id] = count
    with (dest / LABELS_FILE).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_COLUMNS)
        writer.writerows(sorted(labels.items()))
    return len(labels)


def _read_labels(path: Path) -> dict[str, int]:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {row["image_id"]: int(row["expected_quantity"]) for row in csv.DictReader(handle)}


def _metadata_file_count(path: Path) -> int | None:
    """The count a downloaded metadata file states, or None when it is unreadable or states none."""
    try:
        return metadata_count(json.loads(path.read_bytes()))
    except (OSError, ValueError):
        return None
