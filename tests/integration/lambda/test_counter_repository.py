"""The inventory repository under moto: one transaction per image, duplicates and late arrivals."""

from __future__ import annotations

from typing import Any

import boto3
from counter_world import BIN_STATE_TABLE, INVENTORY_TABLE, REGION, CountingWorld, prediction

from contracts.decision import DEFAULT_COSTS
from contracts.inventory_schema import ExpectedSource
from lambdas.counter.dal.inventory import InventoryRepository, SaveOutcome
from lambdas.counter.logic.expected import ExpectedQuantity
from lambdas.counter.logic.reconcile import reconcile
from lambdas.counter.logic.records import ImageVersion, InventoryRecord


def counted(key: str, captured_at: str, count: int, expected: int = 3) -> InventoryRecord:
    """A record built the way the Batch Transform backfill builds one: reconcile, then InventoryRecord."""
    image = ImageVersion(bin_id="B-1", bucket="bkt", key=key, version="v1", captured_at=captured_at)
    reconciliation = reconcile(prediction(count, 0.9), expected, DEFAULT_COSTS)
    source = ExpectedQuantity(expected, ExpectedSource.BIN_STATE)
    return InventoryRecord.counted(image, reconciliation, source, processed_at="2026-11-21T13:00:00.000000Z")


def repository() -> InventoryRepository:
    client = boto3.client("dynamodb", region_name=REGION)
    return InventoryRepository(client, inventory_table=INVENTORY_TABLE, bin_state_table=BIN_STATE_TABLE)


def test_a_record_is_written_once(world: CountingWorld) -> None:
    record = counted("incoming/B-1/a.jpg", "2026-11-21T10:00:00.000000Z", 3)

    outcomes = [repository().save(record), repository().save(record)]

    assert outcomes == [SaveOutcome.WRITTEN, SaveOutcome.DUPLICATE]
    assert list(world.items()) == ["bkt/incoming/B-1/a.jpg#v1"]
    assert world.bin_states()["B-1"]["latest_status"] == "MATCH"


def test_a_late_arrival_keeps_the_newer_state(world: CountingWorld) -> None:
    newer = counted("incoming/B-1/new.jpg", "2026-11-21T11:00:00.000000Z", 3)
    older = counted("incoming/B-1/old.jpg", "2026-11-21T10:00:00.000000Z", 5)

    outcomes = [repository().save(newer), repository().save(older), repository().save(older)]

    assert outcomes == [SaveOutcome.WRITTEN, SaveOutcome.WRITTEN_RECORD_ONLY, SaveOutcome.DUPLICATE]
    assert len(world.items()) == 2
    state = world.bin_states()["B-1"]
    assert (state["latest_record_key"], state["latest_predicted_count"]) == (newer.record_key, 3)


def test_a_record_without_a_count_clears_the_latest_count(world: CountingWorld) -> None:
    repository().save(counted("incoming/B-1/a.jpg", "2026-11-21T10:00:00.000000Z", 3))
    image = ImageVersion("B-1", "bkt", "incoming/B-1/b.jpg", "v1", "2026-11-21T11:00:00.000000Z")

    repository().save(
        InventoryRecord.invalid_image(image, "empty object (0 bytes)", "2026-11-21T11:00:01.000000Z")
    )

    state = world.bin_states()["B-1"]
    assert state["latest_status"] == "INVALID_IMAGE"
    assert "latest_predicted_count" not in state and "latest_confidence" not in state


def test_the_expected_quantity_loaded_by_the_cli_survives_the_lambdas_updates(world: CountingWorld) -> None:
    world.expect("B-1", 3)

    repository().save(counted("incoming/B-1/a.jpg", "2026-11-21T10:00:00.000000Z", 3))

    assert world.bin_states()["B-1"]["expected_quantity"] == 3


def test_one_batch_read_tells_known_records_and_expectations(world: CountingWorld) -> None:
    world.expect("B-1", 3)
    record = counted("incoming/B-1/a.jpg", "2026-11-21T10:00:00.000000Z", 3)
    repository().save(record)
    keys: list[Any] = [("B-1", record.record_key), ("B-2", "bkt/incoming/B-2/x.jpg#v1")]

    known = repository().read_known_state(["B-1", "B-2", "B-1"], keys)

    assert known.is_recorded("B-1", record.record_key)
    assert not known.is_recorded("B-2", "bkt/incoming/B-2/x.jpg#v1")
    assert (known.expected_quantities["B-1"], known.knows_bin("B-2")) == (3, True)
    assert known.expected_quantities["B-2"] is None
