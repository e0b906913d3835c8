"""The counting Lambda's role is enough: every call the handler makes, and Lambda makes for it, is allowed.

moto allows every call, so a missing grant (the BatchGetItem of issue 10) passed every other test. Here
each call the real handler makes is evaluated against the role the counting stack synthesizes; the
`lambda_calls` fixture (conftest) applies the same check to every other test of this folder.
"""

from __future__ import annotations

from typing import Any

from counter_iam import counter_role_policy, counting_deployment
from counter_world import CountingWorld, FakeEndpoint, Faults, jpeg_bytes, s3_notification
from iam_check.check import ServiceCall, assert_allowed, denials
from iam_check.evaluation import Statement
from iam_check.recording import CallRecorder
from iam_check.requests import IamRequest
from iam_check.templates import RolePolicy

# Every API the counting Lambda calls (README: 1 GetObject, 1 InvokeEndpoint, 1 TransactWriteItems per image).
LAMBDA_OPERATIONS = {
    ("s3", "GetObject"),
    ("dynamodb", "BatchGetItem"),
    ("dynamodb", "GetItem"),
    ("dynamodb", "TransactWriteItems"),
    ("dynamodb", "PutItem"),
    ("sagemaker-runtime", "InvokeEndpoint"),
    ("events", "PutEvents"),
}


def _every_path_of_the_handler(
    invoke: Any, world: CountingWorld, fake_endpoint: FakeEndpoint, faults: Faults
) -> None:
    """Batches that, together, reach each AWS call the Lambda's code can make."""
    newer, older, abid, mismatch, again = (jpeg_bytes(seed) for seed in (31, 32, 33, 34, 35))
    for image, count in ((newer, 5), (older, 3), (abid, 2), (mismatch, 1), (again, 4)):
        fake_endpoint.counts(image, count, 0.9)
    world.expect("B-9", 4)
    newer_version = world.put_image("incoming/B-5/newer.jpg", newer, expected_quantity="5")
    older_version = world.put_image("incoming/B-5/older.jpg", older, expected_quantity="5")
    abid_version = world.put_image("bin-images/00042.jpg", abid)  # no metadata/00042.json: a 404 read
    mismatch_version = world.put_image("incoming/B-9/x.jpg", mismatch)
    again_version = world.put_image("incoming/B-9/y.jpg", again)
    # a batch read, a metadata JSON read, the transaction, and a MISMATCH event
    invoke(
        world.sqs_event(
            s3_notification(newer_version, event_time="2026-11-21T12:00:00.000Z"),
            s3_notification(abid_version),
            s3_notification(mismatch_version),
        )
    )
    # a late arrival: the state update is refused, so the record alone is put
    faults.fail_batch_reads = True  # and, without the batch read, the bin state is read per record
    invoke(
        world.sqs_event(
            s3_notification(older_version, event_time="2026-11-21T11:00:00.000Z"),
            s3_notification(again_version),
        )
    )


def test_every_call_the_handler_makes_is_one_its_synthesized_role_allows(
    invoke: Any,
    world: CountingWorld,
    fake_endpoint: FakeEndpoint,
    faults: Faults,
    lambda_calls: CallRecorder,
) -> None:
    # when the handler runs every path that calls AWS
    _every_path_of_the_handler(invoke, world, fake_endpoint, faults)

    # then it made each of its calls, and the role allows every one of them
    assert {(call.service, call.operation) for call in lambda_calls.calls} == LAMBDA_OPERATIONS
    assert_allowed(counter_role_policy(), lambda_calls.calls)


def test_what_lambda_itself_does_with_the_role_is_allowed() -> None:
    """The SQS event source polls and deletes with the function's role; logs and traces go out with it."""
    deployment = counting_deployment()
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{deployment.physical_name('Ingest/Queue')}"
    log_group = deployment.physical_name("Counter/Logs")
    stream = f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group}:log-stream:2026/11/21/[$LATEST]abc"
    transport = {"aws:SecureTransport": "true"}
    calls = [
        ServiceCall(
            "Lambda's SQS event source mapping (AWSLambdaSQSQueueExecutionRole's actions)",
            tuple(
                IamRequest(f"sqs:{action}", queue_arn, transport)
                for action in (
                    "ReceiveMessage",
                    "DeleteMessage",
                    "GetQueueAttributes",
                    "ChangeMessageVisibility",
                )
            ),
        ),
        ServiceCall(
            "Lambda writing the function's logs to its log group",
            (
                IamRequest("logs:CreateLogStream", stream, transport),
                IamRequest("logs:PutLogEvents", stream, transport),
            ),
        ),
        ServiceCall(
            "Lambda sending active-tracing segments to X-Ray",
            (
                IamRequest("xray:PutTraceSegments", "*", transport),
                IamRequest("xray:PutTelemetryRecords", "*", transport),
            ),
        ),
    ]

    assert_allowed(counter_role_policy(), calls)


def test_a_missing_grant_fails_naming_the_call_the_action_the_resource_and_the_role(
    invoke: Any,
    world: CountingWorld,
    fake_endpoint: FakeEndpoint,
    faults: Faults,
    lambda_calls: CallRecorder,
) -> None:
    # given the role without dynamodb:BatchGetItem (as it was before issue 10)
    policy = counter_role_policy()
    without_batch_read = RolePolicy(
        policy.role_path,
        policy.role_arn,
        tuple(
            Statement(
                s.effect,
                tuple(a for a in s.actions if a != "dynamodb:BatchGetItem"),
                s.not_actions,
                s.resources,
                s.not_resources,
                s.conditions,
                s.source,
            )
            for s in policy.statements
        ),
    )
    _every_path_of_the_handler(invoke, world, fake_endpoint, faults)

    # when the recorded calls are checked against it
    missing = denials(without_batch_read, lambda_calls.calls)
    lambda_calls.calls.clear()  # the fixture's own check uses the real role; nothing left to check

    # then exactly the batch reads are refused, on both tables, and each line says who and what
    tables = {line.split(" on ", 1)[1].split(" ", 1)[0] for line in missing}
    assert tables == {
        "arn:aws:dynamodb:us-east-1:123456789012:table/binventory-test-bin-state",
        "arn:aws:dynamodb:us-east-1:123456789012:table/binventory-test-inventory",
    }
    for line in missing:
        assert line.startswith("dynamodb.BatchGetItem(")
        assert ": dynamodb:BatchGetItem on arn:aws:dynamodb:" in line
        assert f"implicitly denied (no statement allows it) for role Counter/Role ({policy.role_arn})" in line
