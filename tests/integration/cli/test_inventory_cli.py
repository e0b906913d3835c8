"""`binventory inventory ...` against a storage stack deployed in moto, including the error messages."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from model_answers import prediction
from moto import mock_aws

from binventory.cli import cli
from contracts import inventory_schema
from contracts.decision import DEFAULT_COSTS
from lambdas.counter.dal.inventory import InventoryRepository
from lambdas.counter.logic.expected import ExpectedQuantity
from lambdas.counter.logic.reconcile import reconcile
from lambdas.counter.logic.records import ImageVersion, InventoryRecord

REGION = "us-east-1"
STAGE = "clitest"
STACK = f"binventory-{STAGE}-storage"


@pytest.fixture
def aws(fake_aws_credentials: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "220")  # rich tables wide enough that no cell is wrapped
    for name in ("BINVENTORY_INVENTORY_TABLE_NAME", "BINVENTORY_BIN_STATE_TABLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def stack(aws: None) -> dict[str, str]:
    """The storage stack's tables and outputs, deployed through CloudFormation (in moto)."""
    table = "AWS::DynamoDB::Table"
    template = {
        "Resources": {
            "Inventory": {"Type": table, "Properties": inventory_schema.inventory_table_definition()},
            "BinState": {"Type": table, "Properties": inventory_schema.bin_state_table_definition()},
        },
        "Outputs": {
            "InventoryTableName": {"Value": {"Ref": "Inventory"}},
            "BinStateTableName": {"Value": {"Ref": "BinState"}},
        },
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    found = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    return {o["OutputKey"]: o["OutputValue"] for o in found}


@pytest.fixture
def record(stack: dict[str, str]) -> Any:
    """Write a record the way the counting Lambda does."""
    repository = InventoryRepository(
        boto3.client("dynamodb", region_name=REGION),
        inventory_table=stack["InventoryTableName"],
        bin_state_table=stack["BinStateTableName"],
    )

    def write(
        bin_id: str,
        name: str,
        captured_at: str,
        count: int,
        expected: int | None,
        confidence: float = 0.999,
        source: inventory_schema.ExpectedSource = inventory_schema.ExpectedSource.BIN_STATE,
    ):
        image = ImageVersion(bin_id, "ingest", f"incoming/{bin_id}/{name}", "v1", captured_at)
        reconciliation = reconcile(prediction(count, confidence), expected, DEFAULT_COSTS)
        source = ExpectedQuantity(expected, source if expected is not None else None)
        repository.save(InventoryRecord.counted(image, reconciliation, source, "2026-11-21T12:00:00.000000Z"))

    return write


def binventory(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--stage", STAGE, *args])


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expected.csv"
    path.write_text(text)
    return path


def bin_states(stack: dict[str, str]) -> dict[str, dict[str, Any]]:
    items = boto3.resource("dynamodb", region_name=REGION).Table(stack["BinStateTableName"]).scan()["Items"]
    return {item["bin_id"]: item for item in items}


def test_load_expected_sets_quantities_and_keeps_the_latest_count(
    stack: dict[str, str], record: Any, tmp_path: Path
) -> None:
    # given a bin the Lambda has already counted
    record("B-1", "a.jpg", "2026-11-21T10:00:00.000000Z", count=3, expected=None)
    path = write_csv(tmp_path, "bin_id,expected_quantity,location\nB-1,3,aisle 4\n01013,2,\n1013,5,\n")

    # when the warehouse export is loaded
    result = binventory("inventory", "load-expected", str(path))

    # then every bin has its quantity (ids stay strings) and the latest count survives
    assert result.exit_code == 0, result.output
    assert f"Loaded expected quantities for 3 bins into {stack['BinStateTableName']}" in result.output
    states = bin_states(stack)
    assert {b: states[b]["expected_quantity"] for b in states} == {"B-1": 3, "01013": 2, "1013": 5}
    assert states["B-1"]["latest_predicted_count"] == 3


def test_a_malformed_csv_names_its_lines_and_loads_nothing(stack: dict[str, str], tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bin_id,expected_quantity\nB-1,3\nB-2,three\n,4\nB-1,5\nB-3,-2\nB-4\n")

    result = binventory("inventory", "load-expected", str(path))

    assert result.exit_code == 1
    assert "expected.csv has 5 malformed row(s); nothing was loaded" in result.output
    assert "line 3: expected quantity 'three' is not a whole number >= 0" in result.output
    assert "line 4: bin_id is empty" in result.output
    assert "line 5: bin B-1 is already given on line 2" in result.output
    assert "line 6: expected quantity '-2'" in result.output
    assert "line 7: bin B-4 has no expected_quantity value" in result.output
    assert bin_states(stack) == {}


def test_a_csv_without_the_columns_says_which_are_missing(stack: dict[str, str], tmp_path: Path) -> None:
    result = binventory("inventory", "load-expected", str(write_csv(tmp_path, "bin,qty\nB-1,3\n")))

    assert result.exit_code == 1
    assert (
        "line 1: the header must name the columns bin_id, expected_quantity (found: bin, qty)"
        in result.output
    )


def test_bins_lists_the_latest_state_per_bin(stack: dict[str, str], record: Any, tmp_path: Path) -> None:
    binventory(
        "inventory", "load-expected", str(write_csv(tmp_path, "bin_id,expected_quantity\nB-1,3\nB-2,4\n"))
    )
    record("B-1", "old.jpg", "2026-11-21T09:00:00.000000Z", count=2, expected=3)
    record("B-1", "new.jpg", "2026-11-21T10:00:00.000000Z", count=3, expected=3)

    table = binventory("inventory", "bins")
    as_json = json.loads(binventory("inventory", "bins", "--json").output)
    mismatching = json.loads(binventory("inventory", "bins", "--json", "--status", "MISMATCH").output)

    assert table.exit_code == 0, table.output
    assert "2 bins" in table.output and "MATCH" in table.output
    assert [(b["bin_id"], b.get("latest_status")) for b in as_json] == [("B-1", "MATCH"), ("B-2", None)]
    assert mismatching == []


def test_mismatches_since_a_time_newest_first(stack: dict[str, str], record: Any) -> None:
    record("B-1", "a.jpg", "2026-11-19T10:00:00.000000Z", count=5, expected=3)
    record("B-2", "b.jpg", "2026-11-21T10:00:00.000000Z", count=1, expected=3)
    record("B-3", "c.jpg", "2026-11-21T11:00:00.000000Z", count=3, expected=3)
    record("B-4", "d.jpg", "2026-11-21T12:00:00.000000Z", count=3, expected=3, confidence=0.2)

    everything = json.loads(binventory("inventory", "mismatches", "--json").output)
    recent = json.loads(binventory("inventory", "mismatches", "--since", "2026-11-20", "--json").output)
    with_unsure = binventory(
        "inventory", "mismatches", "--since", "2026-11-20T00:00Z", "--include-low-confidence"
    )

    assert [(r["bin_id"], r["delta"]) for r in everything] == [("B-2", -2), ("B-1", 2)]
    assert [r["bin_id"] for r in recent] == ["B-2"]
    assert with_unsure.exit_code == 0, with_unsure.output
    assert (
        "B-4" in with_unsure.output
        and "LOW_CONFIDENCE" in with_unsure.output
        and "B-1" not in with_unsure.output
    )


def test_a_relative_since_counts_back_from_now(stack: dict[str, str], record: Any) -> None:
    record("B-1", "a.jpg", "2020-01-01T00:00:00.000000Z", count=5, expected=3)

    result = binventory("inventory", "mismatches", "--since", "24h")

    assert result.exit_code == 0, result.output
    assert "No mismatches since" in result.output


def test_a_bad_since_explains_the_accepted_forms(stack: dict[str, str]) -> None:
    result = binventory("inventory", "mismatches", "--since", "yesterday")

    assert result.exit_code == 2
    assert "'yesterday' is neither a duration nor a date: use e.g. 30m, 24h, 7d" in result.output


def test_show_gives_a_bins_history_newest_first(stack: dict[str, str], record: Any) -> None:
    record("01013", "a.jpg", "2026-11-21T09:00:00.000000Z", count=2, expected=3)
    record("01013", "b.jpg", "2026-11-21T10:00:00.000000Z", count=3, expected=3)
    record("1013", "c.jpg", "2026-11-21T11:00:00.000000Z", count=9, expected=3)

    shown = json.loads(binventory("inventory", "show", "01013", "--json").output)
    newest = json.loads(binventory("inventory", "show", "01013", "--limit", "1", "--json").output)
    table = binventory("inventory", "show", "01013")

    assert [(r["image_key"], r["status"]) for r in shown["history"]] == [
        ("incoming/01013/b.jpg", "MATCH"),
        ("incoming/01013/a.jpg", "MISMATCH"),
    ]
    assert shown["state"]["latest_predicted_count"] == 3
    assert [r["image_key"] for r in newest["history"]] == ["incoming/01013/b.jpg"]
    assert "Bin 01013: expected quantity 3 (the latest photo's, from warehouse" in table.output
    assert (
        "MISMATCH" in table.output
        and "incoming/01013/a.jpg" in binventory("inventory", "show", "01013", "--wide").output
    )


def test_show_an_unknown_bin_says_how_to_find_one(stack: dict[str, str]) -> None:
    result = binventory("inventory", "show", "B-404")

    assert result.exit_code == 1
    assert "Bin 'B-404' has no expected quantity and no images" in result.output
    assert "binventory inventory bins" in result.output


def test_export_writes_every_record_as_csv_or_json(
    stack: dict[str, str], record: Any, tmp_path: Path
) -> None:
    record("B-1", "a.jpg", "2026-11-21T09:00:00.000000Z", count=2, expected=3)
    record("B-2", "b.jpg", "2026-11-21T10:00:00.000000Z", count=4, expected=None)

    to_stdout = binventory("inventory", "export", "--csv")
    to_file = binventory("inventory", "export", "-o", str(tmp_path / "all.csv"))
    as_json = json.loads(binventory("inventory", "export", "--json").output)

    rows = list(csv.DictReader(io.StringIO(to_stdout.stdout)))
    assert sorted((r["bin_id"], r["status"], r["delta"]) for r in rows) == [
        ("B-1", "MISMATCH", "-1"),
        ("B-2", "NO_EXPECTATION", ""),
    ]
    assert json.loads(rows[0]["probabilities"])
    assert "Wrote 2 records to" in to_file.output
    assert (tmp_path / "all.csv").read_text() == to_stdout.stdout
    assert {r["record_key"] for r in as_json} == {r["record_key"] for r in rows}


def test_a_missing_stack_says_how_to_deploy_it(aws: None) -> None:
    result = binventory("inventory", "bins")

    assert result.exit_code == 1
    assert f"Stack {STACK} not found in region {REGION}" in result.output
    assert "npx cdk deploy --all" in result.output


def test_the_wrong_region_is_named(stack: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["--stage", STAGE, "--region", "eu-west-1", "inventory", "bins"])

    assert result.exit_code == 1
    assert f"Stack {STACK} not found in region eu-west-1" in result.output
    assert "--stage / --region" in result.output


def test_missing_credentials_are_reported(
    stack: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    result = binventory("inventory", "bins")

    assert result.exit_code == 1
    assert "No AWS credentials found" in result.output


def test_an_override_naming_a_missing_table_says_which_variable(
    stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BINVENTORY_BIN_STATE_TABLE_NAME", "no-such-table")

    result = binventory("inventory", "bins")

    assert result.exit_code == 1
    assert f"Table no-such-table not found in region {REGION}" in result.output
    assert "BINVENTORY_BIN_STATE_TABLE_NAME" in result.output


def at_80_columns(*args: str) -> Result:
    """What a user sees through a pipe or in a narrow terminal."""
    return CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["--stage", STAGE, *args])


def screen(result: Result) -> list[str]:
    """The rendered lines, trailing spaces dropped (rich pads each line to the width)."""
    assert result.exit_code == 0, result.output
    return [line.rstrip() for line in result.output.splitlines() if line.strip()]


def test_snapshot_bins_at_80_columns(stack: dict[str, str], record: Any, tmp_path: Path) -> None:
    # given: a loaded bin with no photo, an expected 0, a LOW_CONFIDENCE and a long synthetic bin id
    binventory("inventory", "load-expected", str(write_csv(tmp_path, "bin_id,expected_quantity\nB-9,4\n")))
    record("bin-0003", "a.jpg", "2026-11-21T09:00:00.000000Z", count=2, expected=0)
    record("bin-0007", "a.jpg", "2026-11-21T09:00:00.000000Z", count=3, expected=3, confidence=0.2)
    record("syn-000123", "a.jpg", "2026-11-21T09:00:00.000000Z", count=4, expected=4)

    # when: listed through a pipe (80 characters)
    shown = screen(at_80_columns("inventory", "bins"))

    # then: nothing is cut, 0 is 0, and each verdict says why
    assert shown == [
        "4 bins",
        " bin          expected  count  status          why",
        " " + "─" * 75,
        " B-9          4             -  -               -",
        " bin-0003     0             2  MISMATCH        P(0)=<0.01, wrong 90% ≥ 50%",
        " bin-0007     3             3  LOW_CONFIDENCE  P(3)=0.20, wrong 1.6% > 1.4%",
        " syn-000123   4             4  MATCH           P(4)=1.00, wrong 0.15% ≤ 1.4%",
    ]
    assert all(len(line) <= 80 and "…" not in line for line in shown)


def test_wide_shows_every_column_and_still_cuts_nothing(stack: dict[str, str], record: Any) -> None:
    record("syn-000123", "a.jpg", "2026-11-21T09:00:00.000000Z", count=4, expected=4)

    shown = screen(at_80_columns("inventory", "bins", "--wide"))

    assert "source" in shown[1] and "confidence" in shown[1] and "captured (UTC)" in shown[1]
    assert any("warehouse" in line and "2026-11-21 09:00:00" in line and "≤ 1.4%" in line for line in shown)
    assert "…" not in "\n".join(shown)


def test_snapshot_show_header_and_rows_agree_at_80_columns(stack: dict[str, str], record: Any) -> None:
    # given: a bin whose only expectation came with its photos (none loaded from the warehouse)
    from_photo = inventory_schema.ExpectedSource.OBJECT_METADATA
    record("bin-test", "a.jpg", "2026-11-21T09:00:00.000000Z", count=5, expected=3, source=from_photo)
    record("bin-test", "b.jpg", "2026-11-21T10:00:00.000000Z", count=3, expected=3, source=from_photo)

    shown = screen(at_80_columns("inventory", "show", "bin-test"))

    assert shown == [
        "Bin bin-test: expected quantity 3 (the latest photo's, from photo metadata; none loaded now)",
        "2 images",
        " captured (UTC)        status    expected  count  why",
        " " + "─" * 78,
        " 2026-11-21 10:00:00   MATCH            3      3  P(3)=1.00, wrong 0.15% ≤ 1.4%",
        " 2026-11-21 09:00:00   MISMATCH         3      5  P(3)=<0.01, wrong 91% ≥ 50%",
    ]


def test_region_is_accepted_after_the_command(stack: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["inventory", "bins", "--stage", STAGE, "--region", "eu-west-1"])

    assert f"Stack {STACK} not found in region eu-west-1" in result.output


def test_stage_is_accepted_after_the_command(stack: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["inventory", "bins", "--stage", STAGE])

    assert result.exit_code == 0, result.output
    assert "No bins yet" in result.output


def test_without_a_region_the_cli_uses_cdk_jsons(
    stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: no region anywhere in the environment (cdk.json deploys to us-east-1)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)

    result = CliRunner().invoke(cli, ["inventory", "bins", "--stage", STAGE])

    assert result.exit_code == 0, result.output
    assert "No AWS region configured" not in result.output
