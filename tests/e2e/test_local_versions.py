"""Each upload is an object version and is recorded once, as on AWS: overwrites, repeats and deletes."""

from __future__ import annotations

from pathlib import Path

from binventory.local.pipeline import LocalPipeline, Upload
from contracts.inventory_schema import Status


def photo(synthetic_eval_dir: Path, index: int = 0) -> bytes:
    return sorted((synthetic_eval_dir / "bin-images").glob("*.jpg"))[index].read_bytes()


def records_of(pipeline: LocalPipeline, key: str) -> list[dict]:
    return sorted(
        (r for r in pipeline.records() if r["image_key"] == key),
        key=lambda r: (r.get("expected_quantity", -1), r["captured_at"]),
    )


def test_two_quick_overwrites_are_two_counted_records(pipeline: LocalPipeline, synthetic_eval_dir: Path):
    # given: one key written twice before anything is counted
    key = "incoming/bin-over/photo.jpg"
    pipeline.upload(
        [
            Upload(key=key, body=photo(synthetic_eval_dir, 0), metadata={"expected-quantity": "1"}),
            Upload(key=key, body=photo(synthetic_eval_dir, 1), metadata={"expected-quantity": "2"}),
        ]
    )

    # when: the queue drains
    pipeline.process(timeout_seconds=120)

    # then: both versions are counted (neither is OBJECT_MISSING), each against its own expectation
    records = records_of(pipeline, key)
    assert [r["expected_quantity"] for r in records] == [1, 2]
    assert Status.OBJECT_MISSING.value not in {r["status"] for r in records}
    assert len({r["image_version"] for r in records}) == 2


def test_the_same_bytes_again_with_a_new_expectation_is_recorded(
    pipeline: LocalPipeline, synthetic_eval_dir: Path
):
    # given: a photo counted against 2
    key = "incoming/bin-again/photo.jpg"
    body = photo(synthetic_eval_dir)
    pipeline.upload([Upload(key=key, body=body, metadata={"expected-quantity": "2"})])
    pipeline.process(timeout_seconds=120)

    # when: the same bytes are uploaded again, now expected to hold 4
    pipeline.upload([Upload(key=key, body=body, metadata={"expected-quantity": "4"})])
    pipeline.process(timeout_seconds=120)

    # then: the second upload is a record of its own, not a duplicate of the first
    assert [r["expected_quantity"] for r in records_of(pipeline, key)] == [2, 4]


def test_deletes_behave_as_on_a_versioned_bucket(pipeline: LocalPipeline, synthetic_eval_dir: Path):
    # given: two uploads; one is deleted (a delete marker), the other's version is removed for good
    assert pipeline.resources
    s3 = pipeline.session().client("s3")
    bucket = pipeline.resources.ingest_bucket
    kept, purged = "incoming/bin-del/kept.jpg", "incoming/bin-del/purged.jpg"
    pipeline.upload(
        [
            Upload(key=kept, body=photo(synthetic_eval_dir), metadata={"expected-quantity": "1"}),
            Upload(key=purged, body=photo(synthetic_eval_dir), metadata={"expected-quantity": "1"}),
        ]
    )
    s3.delete_object(Bucket=bucket, Key=kept)
    version = s3.list_object_versions(Bucket=bucket, Prefix=purged)["Versions"][0]["VersionId"]
    s3.delete_object(Bucket=bucket, Key=purged, VersionId=version)

    # when: the queue drains
    pipeline.process(timeout_seconds=120)

    # then: the version behind a delete marker is still counted; the purged one is OBJECT_MISSING; one each
    [kept_record] = records_of(pipeline, kept)
    [purged_record] = records_of(pipeline, purged)
    assert kept_record["status"] != Status.OBJECT_MISSING.value
    assert "predicted_count" in kept_record
    assert purged_record["status"] == Status.OBJECT_MISSING.value
    assert pipeline.dead_letters() == []
