"""End to end on one machine: upload to moto's S3, count through the model server, read the table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from binventory.local.pipeline import LocalPipeline, Upload
from binventory.local.report import join_outcomes, summarize
from binventory.local.uploads import plan_from_dataset
from contracts.decision import wrong_probability
from contracts.inventory_schema import Status
from contracts.model_answer import EvidenceRule

COUNTED = {
    Status.MATCH.value,
    Status.MISMATCH.value,
    Status.LOW_CONFIDENCE.value,
    Status.NO_EXPECTATION.value,
}


def run_plan(pipeline: LocalPipeline, plan) -> list:
    assert pipeline.resources
    if plan.expected_rows:
        pipeline.load_expected(plan.expected_rows)
    pipeline.upload(plan.sidecars)
    pipeline.upload(plan.uploads)
    pipeline.process(timeout_seconds=300)
    return join_outcomes(plan.images, pipeline.records())


def test_every_upload_ends_as_exactly_one_record_with_the_right_status(pipeline, synthetic_eval_dir):
    # given synthetic bins, a fifth of them with a wrong expected quantity, plus broken and unlabelled files
    plan = plan_from_dataset(
        synthetic_eval_dir, limit=None, plant_error_fraction=0.2, seed=3, include_bad_files=True
    )

    # when they are uploaded and the queue is drained
    outcomes = run_plan(pipeline, plan)
    model_rule = EvidenceRule.from_dict(
        json.loads((pipeline.model_dir / "model_config.json").read_text())["reconciliation"]
    )
    costs = pipeline.settings.counting.decision

    # then every object has exactly one record and nothing went to the dead-letter queue
    records = pipeline.records()
    assert Counter(r["image_key"] for r in records) == Counter(p.key for p in plan.images)
    assert pipeline.dead_letters() == []
    by_key = {o.planned.key: o for o in outcomes}
    for planned in plan.images:
        outcome = by_key[planned.key]
        if planned.invalid_reason:
            assert outcome.status == Status.INVALID_IMAGE.value, planned
            assert outcome.record.get("reason"), "an invalid image records why"
        elif planned.expected is None:
            assert outcome.status == Status.NO_EXPECTATION.value
        else:
            # the demo model's own evidence rule (fitted on its validation images) and the deployment's
            # costs decide, through the Lambda: flag when more likely wrong than right, look when a look
            # costs less than what clearing risks
            record = outcome.record
            wrong = float(record["wrong_probability"])
            probabilities = {label: float(p) for label, p in record["probabilities"].items()}
            assert wrong == pytest.approx(
                wrong_probability(probabilities, planned.expected, model_rule, costs.wrong_record_rate),
                rel=1e-6,
            )
            assert float(record["look_above"]) == pytest.approx(costs.look_above)
            if wrong >= 0.5:
                assert outcome.status == Status.MISMATCH.value
            elif wrong > costs.look_above:
                assert outcome.status == Status.LOW_CONFIDENCE.value
            else:
                assert outcome.status == Status.MATCH.value
            assert int(record["expected_quantity"]) == planned.expected
    # and the brief demo model counts the obvious synthetic bins far better than chance (1 in 6)
    summary = summarize(outcomes, dead_letters=0)
    assert summary.accuracy_vs_truth > 0.5, summary


def test_every_expectation_source_reaches_the_record(pipeline, synthetic_eval_dir):
    # given one image per way of stating the expected quantity
    plan = plan_from_dataset(
        synthetic_eval_dir, limit=6, plant_error_fraction=0.0, seed=5, include_bad_files=False
    )

    # when processed
    outcomes = run_plan(pipeline, plan)

    # then each record names where its expectation came from
    sources = {o.planned.expected_via: o.record.get("expected_source") for o in outcomes}
    assert sources == {
        "metadata_json": "metadata_json",
        "object_metadata": "object_metadata",
        "bin_state": "bin_state",
    }


def test_poison_message_lands_in_the_dead_letter_queue(pipeline):
    # given a message on the ingest queue that is not an S3 event at all
    assert pipeline.resources
    sqs = pipeline.session().client("sqs")
    sqs.send_message(QueueUrl=pipeline.resources.queue_url, MessageBody="{not json")

    # when the poller keeps delivering it until the redrive policy gives up
    pipeline.process(timeout_seconds=120)

    # then it is in the dead-letter queue, and no record was invented for it
    dead = pipeline.dead_letters()
    assert [m["Body"] for m in dead] == ["{not json"]
    assert pipeline.records() == []


def test_duplicate_delivery_leaves_one_record(pipeline, synthetic_eval_dir):
    # given one uploaded image, processed
    assert pipeline.resources
    image = next((synthetic_eval_dir / "bin-images").glob("*.jpg"))
    pipeline.upload(
        [
            Upload(
                key="incoming/bin-dup/photo.jpg", body=image.read_bytes(), metadata={"expected-quantity": "2"}
            )
        ]
    )
    sqs = pipeline.session().client("sqs")
    original = sqs.receive_message(QueueUrl=pipeline.resources.queue_url, VisibilityTimeout=0)["Messages"][0]
    pipeline.process(timeout_seconds=60)
    before = pipeline.records()

    # when S3 delivers the same event again (at-least-once)
    sqs.send_message(QueueUrl=pipeline.resources.queue_url, MessageBody=original["Body"])
    pipeline.process(timeout_seconds=60)

    # then the table is unchanged
    assert len(before) == 1
    assert pipeline.records() == before


def test_model_server_outage_loses_nothing(pipeline, synthetic_eval_dir):
    # given a batch of uploads and a model server that dies before they are counted
    assert pipeline.resources and pipeline.model_server
    plan = plan_from_dataset(
        synthetic_eval_dir, limit=12, plant_error_fraction=0.0, seed=9, include_bad_files=False
    )
    pipeline.upload(plan.sidecars)
    pipeline.upload(plan.uploads)
    pipeline.model_server.stop()

    # when the poller delivers while the endpoint is down, then the endpoint comes back
    assert pipeline.poller
    failed = sum(pipeline.poller.poll_once().failed for _ in range(2))
    pipeline.model_server.start()
    pipeline.process(timeout_seconds=300)

    # then the outage failed records (for retry) instead of dropping them, and every image is accounted for
    assert failed > 0
    recorded = {r["image_key"] for r in pipeline.records()}
    dead = {json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"] for m in pipeline.dead_letters()}
    assert recorded | dead == {p.key for p in plan.images}
    assert recorded.isdisjoint(dead)


def test_burst_of_uploads_is_all_recorded(pipeline, synthetic_eval_dir):
    # given a few hundred uploads arriving at once
    images = sorted((synthetic_eval_dir / "bin-images").glob("*.jpg"))
    uploads = [
        Upload(
            key=f"incoming/bin-{i:04d}/{images[i % len(images)].name}",
            body=images[i % len(images)].read_bytes(),
            metadata={"expected-quantity": "3"},
        )
        for i in range(300)
    ]

    # when the pipeline drains them
    pipeline.upload(uploads)
    progress = pipeline.process(timeout_seconds=600)

    # then each has exactly one record and none is left anywhere
    assert Counter(r["image_key"] for r in pipeline.records()) == Counter(u.key for u in uploads)
    assert progress.failed == 0
    assert (
        progress.succeeded == 301
    )  # the uploads, plus the s3:TestEvent S3 sent when notifications were set up
    assert pipeline.queue_depth() == 0
    assert pipeline.dead_letters() == []


def test_real_abid_slice_is_counted_and_reconciled(pipeline, abid_dir: Path):
    # given 20 real ABID photos with their metadata
    plan = plan_from_dataset(abid_dir, limit=20, plant_error_fraction=0.0, seed=1, include_bad_files=False)

    # when processed
    outcomes = run_plan(pipeline, plan)

    # then each is counted (the synthetic demo model is not expected to be right on real bins) and reconciled
    assert len(pipeline.records()) == 20
    for outcome in outcomes:
        assert outcome.status in COUNTED
        assert outcome.predicted is not None and 0 <= outcome.confidence <= 1
        expected_delta = outcome.predicted - outcome.planned.expected
        assert int(outcome.record["delta"]) == expected_delta


def test_a_model_server_killed_mid_burst_heals_and_every_upload_is_recorded(pipeline, synthetic_eval_dir):
    # given: a burst of uploads, and a model server that is killed (SIGKILL) once counting is under way
    assert pipeline.model_server and pipeline.supervisor
    images = sorted((synthetic_eval_dir / "bin-images").glob("*.jpg"))
    uploads = [
        Upload(
            key=f"incoming/bin-k{i:03d}/{images[i % len(images)].name}",
            body=images[i % len(images)].read_bytes(),
            metadata={"expected-quantity": "2"},
        )
        for i in range(120)
    ]
    pipeline.upload(uploads)
    killed = []

    def kill_once(progress) -> None:
        if progress.succeeded >= 20 and not killed:
            killed.append(progress.succeeded)
            pipeline.model_server.kill()

    # when: the queue drains, with no one restarting anything
    pipeline.process(timeout_seconds=600, on_progress=kill_once)

    # then: the server was restarted once and every upload has exactly one record; none went to the DLQ
    assert killed and pipeline.supervisor.restarts == 1
    assert Counter(r["image_key"] for r in pipeline.records()) == Counter(u.key for u in uploads)
    assert pipeline.dead_letters() == []
