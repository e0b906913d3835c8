"""Put prepared splits into the dataset bucket under the prefixes the training job's channels read.

`<prepared>/train/` -> `s3://<dataset bucket>/train/`, `validation/` likewise (stacks/outputs.py
DATASET_CHANNELS); the test split goes to `test/` and the manifest files to `manifest/`, which no
channel reads. Re-running skips objects whose size and MD5 already match, and removes objects under
those prefixes that the new preparation no longer has, so a channel never mixes two preparations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from binventory.data.layout import DISTRIBUTION_PNG, MANIFEST_CSV, MANIFEST_JSON, SPLIT_NAMES
from contracts.stack_outputs import DATASET_CHANNELS

MANIFEST_PREFIX = "manifest/"
TEST_PREFIX = "test/"
SYNTHETIC_METADATA = {"synthetic": "true"}


@dataclass
class UploadReport:
    uploaded: int = 0
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)


def planned_uploads(prepared: Path) -> dict[str, Path]:
    """Bucket key -> local file for every split folder and manifest file present in `prepared`."""
    missing = [name for name in DATASET_CHANNELS if not (prepared / name / "labels.csv").is_file()]
    if missing:
        raise FileNotFoundError(
            f"{prepared} has no {', '.join(missing)} split (labels.csv); run `binventory data prepare` first."
        )
    plan: dict[str, Path] = {}
    for split in SPLIT_NAMES:
        folder = prepared / split
        for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
            plan[f"{split}/{path.relative_to(folder).as_posix()}"] = path
    for name in (MANIFEST_CSV, MANIFEST_JSON, DISTRIBUTION_PNG):
        if (prepared / name).is_file():
            plan[MANIFEST_PREFIX + name] = prepared / name
    return plan


def managed_prefixes() -> tuple[str, ...]:
    return (*(f"{channel}/" for channel in DATASET_CHANNELS), TEST_PREFIX, MANIFEST_PREFIX)


def upload(
    s3: Any,
    bucket: str,
    plan: dict[str, Path],
    synthetic_ids: set[str],
    workers: int,
    on_done: Callable[[], None] = lambda: None,
) -> UploadReport:
    """Upload what changed, then delete what the plan no longer holds under the managed prefixes."""
    existing = _existing_objects(s3, bucket)
    report = UploadReport()

    def put(key: str, path: Path) -> bool:
        if existing.get(key) == (path.stat().st_size, _md5(path)):
            return False
        extra = {"Metadata": SYNTHETIC_METADATA} if path.stem in synthetic_ids else {}
        s3.upload_file(str(path), bucket, key, ExtraArgs=extra)
        return True

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for changed in pool.map(lambda item: put(*item), plan.items()):
            if changed:
                report.uploaded += 1
            else:
                report.unchanged += 1
            on_done()
    report.deleted = sorted(set(existing) - set(plan))
    for start in range(0, len(report.deleted), 1000):
        batch = report.deleted[start : start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    return report


def _existing_objects(s3: Any, bucket: str) -> dict[str, tuple[int, str]]:
    """key -> (size, ETag) under the managed prefixes (the ETag is the MD5 for single-part uploads)."""
    found: dict[str, tuple[int, str]] = {}
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in managed_prefixes():
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = (int(item["Size"]), item["ETag"].strip('"'))
    return found


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
