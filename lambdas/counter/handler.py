"""Lambda entry point: SQS batches of S3 upload notifications in, partial batch failures out.

It only adapts: each SQS message is parsed and its uploads handed to `ImageCounter.count`.
A message that raises is reported in `batchItemFailures`, so SQS delivers it again and, after
the queue's maxReceiveCount, moves it to the dead-letter queue; the rest of the batch is kept.
The records run in sequence against a deadline taken from the invocation's remaining time: a
message not reached in time (or whose calls would outlast it) is sent to the queue again as a new message
(`logic/deferral.py`: waiting costs it no receive), instead of the whole batch timing out.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contracts.inventory_schema import CounterMetric

from .configuration import load_configuration
from .dal.clients import REQUEUE_CONFIG, make_client
from .dal.inventory import KnownState, SaveOutcome
from .dal.requeue import Requeue
from .deadline import Deadline, OutOfTime
from .logic.deferral import deferrals_of, send_again
from .logic.distinct_errors import DistinctErrors, reason
from .logic.drift import drift_values
from .logic.notifications import MalformedMessage, UploadedObject, parse_notification
from .observability import logger, metrics, tracer
from .service import CountResult, ImageCounter

processor = BatchProcessor(event_type=EventType.SQS)
SEEN_ERRORS = DistinctErrors()  # per execution environment, like the clients
# Kept back from the remaining time: the last record's writes, the metrics flush and the response.
# (contracts/deployment_settings.py requires a Lambda timeout of at least 30 s, so records always get time.)
SAFETY_MARGIN_SECONDS = 10.0
# A message is started only with this long left before the deadline (image read, endpoint, writes).
MIN_SECONDS_TO_START = 5.0


@functools.cache
def requeue() -> Requeue:
    """Sends deferred messages back to their queue (one client per execution environment)."""
    return Requeue(make_client("sqs", config=REQUEUE_CONFIG))


@functools.cache
def image_counter() -> ImageCounter:
    """This execution environment's counter: its configuration is read and validated once, on first use."""
    return ImageCounter.from_configuration(load_configuration(os.environ))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Count every upload in the batch; return the messages to retry as `batchItemFailures`."""
    deadline = _deadline(context)
    counter = image_counter()
    known = counter.read_known_state(_uploads_in(event))
    return process_partial_response(
        event=event,
        record_handler=functools.partial(_handle_message, counter=counter, known=known, deadline=deadline),
        processor=processor,
        context=context,
    )


def _deadline(context: LambdaContext) -> Deadline:
    """The invocation's remaining time less the safety margin."""
    return Deadline.in_seconds(context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS)


def _handle_message(
    record: SQSRecord, *, counter: ImageCounter, known: KnownState, deadline: Deadline
) -> None:
    try:
        notification = parse_notification(record.body)
        if notification.is_test_event:
            logger.info("S3 test event acknowledged", extra={"message_id": record.message_id})
            metrics.add_metric(name=CounterMetric.TEST_EVENTS, unit=MetricUnit.Count, value=1)
            return
        for event_name in notification.ignored_events:
            logger.warning("ignored an S3 event that is not an upload", extra={"event_name": event_name})
        for upload in notification.uploads:
            if deadline.remaining() < MIN_SECONDS_TO_START:
                raise OutOfTime(f"{max(deadline.remaining(), 0.0):.1f} s left before the deadline")
            _report(upload, counter.count(upload, known, deadline))
    except OutOfTime as error:
        metrics.add_metric(name=CounterMetric.DEFERRED_MESSAGES, unit=MetricUnit.Count, value=1)
        deferrals = deferrals_of(record.raw_event.get("messageAttributes") or {})
        if not send_again(deferrals):
            logger.warning(
                "message deferred too often; failed, so SQS counts the receive",
                extra={"message_id": record.message_id, "deferrals": deferrals, "reason": str(error)},
            )
            raise
        # Sent back as a new message (waiting costs it no receive), and this one is done.
        new_id = requeue().send_again(
            queue_arn=record.event_source_arn, body=record.body, deferrals=deferrals + 1
        )
        logger.warning(
            "message not reached before the invocation's deadline; sent to the queue again",
            extra={"message_id": record.message_id, "new_message_id": new_id, "reason": str(error)},
        )
    except Exception as error:
        # One line per failed record, with its reason; the traceback only the first time this error is seen.
        logger.error(
            "message failed; SQS will deliver it again, then move it to the dead-letter queue",
            extra={
                "message_id": record.message_id,
                "receive_count": record.attributes.approximate_receive_count,
                "reason": reason(error),
            },
            exc_info=SEEN_ERRORS.first_time(error),
        )
        metrics.add_metric(name=CounterMetric.FAILED_MESSAGES, unit=MetricUnit.Count, value=1)
        raise


def _report(upload: UploadedObject, result: CountResult) -> None:
    where = {"bucket": upload.bucket, "key": upload.key, "version": upload.version}
    if result.outcome is SaveOutcome.DUPLICATE or result.record is None:
        logger.info("duplicate delivery acknowledged: this image version is already recorded", extra=where)
        metrics.add_metric(name=CounterMetric.DUPLICATE_DELIVERIES, unit=MetricUnit.Count, value=1)
        return
    record = result.record
    logger.info(
        "image recorded",
        extra={
            **where,
            "bin_id": record.bin_id,
            "status": record.status.value,
            "reason": record.reason,
            "predicted_count": record.predicted_count,
            "expected_quantity": record.expected_quantity,
            "bin_state_updated": result.outcome is SaveOutcome.WRITTEN,
        },
    )
    metrics.add_metric(name=CounterMetric.RECORDS_WRITTEN, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=CounterMetric.for_status(record.status), unit=MetricUnit.Count, value=1)
    for name, value in drift_values(record).items():
        metrics.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)


def _uploads_in(event: dict[str, Any]) -> Iterator[UploadedObject]:
    """Every upload in the batch that parses; the others fail later, in their own record."""
    for record in event.get("Records", []):
        try:
            yield from parse_notification(record.get("body", "")).uploads
        except MalformedMessage:
            continue
