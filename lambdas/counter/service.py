"""Count one uploaded bin image end to end: read, check, predict, reconcile, announce, record.

Knows nothing of Lambda or SQS: the handler adapts events to `ImageCounter.count`, and the
benchmark and tests can drive it directly. Exceptions that escape `count` are transient (or a
message nobody can act on): the caller fails the record so SQS redelivers it, then dead-letters it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from contracts.abid_labels import quantity_in_metadata_document
from contracts.inventory_schema import (
    EXPECTED_QUANTITY_METADATA_KEY,
    ExpectedSource,
    UnroutableKey,
    abid_metadata_key,
    bin_id_for_key,
    format_timestamp,
)

from .configuration import CounterConfiguration
from .dal.clients import RuntimeClientPool, calls_bounded_by, make_client
from .dal.endpoint_client import EndpointClient, ImageRejected
from .dal.events import EventPublisher, needs_event
from .dal.images import ImageStore, ObjectMissing, StoredImage
from .dal.inventory import InventoryRepository, KnownState, SaveOutcome, is_transient
from .deadline import NO_DEADLINE, Deadline
from .logic.expected import ExpectedLookup, resolve_expected_quantity
from .logic.image_check import endpoint_content_type, format_problem, size_problem
from .logic.notifications import UploadedObject
from .logic.reconcile import reconcile
from .logic.records import ImageVersion, InventoryRecord
from .observability import logger

# Of the 10 s the handler keeps back after the deadline (handler.SAFETY_MARGIN_SECONDS), what the last
# record's writes may use; the rest flushes the metrics and answers.
WRITE_GRACE_SECONDS = 8.0


@dataclass(frozen=True)
class CountResult:
    """What counting one upload did; `record` is None when it was skipped as already recorded."""

    outcome: SaveOutcome
    record: InventoryRecord | None


class ImageCounter:
    """Turns one uploaded object version into one inventory record (and an event when it needs one)."""

    def __init__(
        self,
        *,
        images: ImageStore,
        endpoint: EndpointClient,
        inventory: InventoryRepository,
        events: EventPublisher,
        configuration: CounterConfiguration,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.images = images
        self.endpoint = endpoint
        self.inventory = inventory
        self.events = events
        self.configuration = configuration
        self.clock = clock

    @classmethod
    def from_configuration(
        cls, configuration: CounterConfiguration, session: boto3.session.Session | None = None
    ) -> ImageCounter:
        """A counter talking to the tables, endpoint and bus the configuration name."""
        return cls(
            images=ImageStore(make_client("s3", session)),
            endpoint=EndpointClient(RuntimeClientPool(session), configuration.endpoint_name),
            inventory=InventoryRepository(
                make_client("dynamodb", session),
                inventory_table=configuration.inventory_table,
                bin_state_table=configuration.bin_state_table,
            ),
            events=EventPublisher(make_client("events", session), configuration.event_bus_name),
            configuration=configuration,
        )

    def read_known_state(self, uploads: Iterable[UploadedObject]) -> KnownState:
        """One read for a whole batch: bins' expected quantities and versions already recorded.

        Only a shortcut: when the read is throttled or DynamoDB is unavailable, every record falls
        back to its own lookups and the conditional write still stops duplicates. Any other error
        (AccessDenied, a missing table) propagates: per-record reads would only hide it.
        """
        versions = []
        for upload in uploads:
            try:
                versions.append(self._image_version(upload))
            except UnroutableKey:
                continue  # reported when that record is counted
        try:
            return self.inventory.read_known_state(
                (v.bin_id for v in versions), ((v.bin_id, v.record_key) for v in versions)
            )
        except (ClientError, BotoCoreError) as error:
            if not is_transient(error):
                raise
            logger.warning("batch read failed; each record looks up on its own", extra={"error": str(error)})
            return KnownState()

    def count(
        self, upload: UploadedObject, known: KnownState | None = None, deadline: Deadline = NO_DEADLINE
    ) -> CountResult:
        """Record one upload exactly once; raise on transient failures so the caller can retry.

        `deadline` bounds every call (the endpoint's, and each S3, DynamoDB and EventBridge attempt); with
        too little time left it raises `OutOfTime`, before anything is written unless the announcement went
        out (events are at least once).
        """
        known = known or KnownState()
        image = self._image_version(upload)
        if known.is_recorded(image.bin_id, image.record_key):
            return CountResult(SaveOutcome.DUPLICATE, None)
        with calls_bounded_by(deadline):
            record = self._build_record(upload, image, known, deadline)
        # A record whose answer arrived may use part of the time the handler keeps back after the deadline
        # to record it, rather than ask the endpoint again on redelivery.
        with calls_bounded_by(deadline.extended(WRITE_GRACE_SECONDS)):
            # Announce before writing: a failed announcement then leaves nothing written, and the retry
            # announces again. Events are at least once; subscribers tell repeats apart by record_key.
            if needs_event(record):
                self.events.publish(record)
            outcome = self.inventory.save(record)
        known.remember(image.bin_id, image.record_key)  # a repeat later in this batch costs nothing
        return CountResult(outcome, record)

    def _image_version(self, upload: UploadedObject) -> ImageVersion:
        return ImageVersion(
            bin_id=bin_id_for_key(upload.key),
            bucket=upload.bucket,
            key=upload.key,
            version=upload.version,
            captured_at=upload.event_time,
        )

    def _build_record(
        self, upload: UploadedObject, image: ImageVersion, known: KnownState, deadline: Deadline
    ) -> InventoryRecord:
        try:
            stored = self.images.read_image(upload, read_limit=self.configuration.max_image_bytes)
        except ObjectMissing as missing:
            return InventoryRecord.object_missing(image, missing.reason, self._now())
        problem = size_problem(stored.size, self.configuration.max_image_bytes) or format_problem(stored.data)
        if problem:
            return InventoryRecord.invalid_image(image, problem, self._now())
        expected = resolve_expected_quantity(self._expected_lookups(upload, image, stored, known))
        content_type = endpoint_content_type(stored.content_type, stored.data)
        try:
            prediction = self.endpoint.predict(stored.data, content_type, deadline)
        except ImageRejected as rejected:
            return InventoryRecord.invalid_image(image, rejected.reason, self._now())
        reconciliation = reconcile(prediction, expected.quantity, self.configuration.decision)
        return InventoryRecord.counted(image, reconciliation, expected, self._now())

    def _expected_lookups(
        self, upload: UploadedObject, image: ImageVersion, stored: StoredImage, known: KnownState
    ) -> list[ExpectedLookup]:
        """The sources of the expected quantity in precedence order, each read only if needed."""
        lookups: list[ExpectedLookup] = []
        metadata_key = abid_metadata_key(upload.key)
        if metadata_key:

            def metadata_json() -> object:
                document = self.images.read_document(upload.bucket, metadata_key)
                return None if document is None else quantity_in_metadata_document(document, metadata_key)

            lookups.append((ExpectedSource.METADATA_JSON, metadata_json))
        object_metadata = stored.metadata.get(EXPECTED_QUANTITY_METADATA_KEY)
        lookups.append((ExpectedSource.OBJECT_METADATA, lambda: object_metadata))

        def bin_state() -> object:
            if known.knows_bin(image.bin_id):
                return known.expected_quantities[image.bin_id]
            return self.inventory.expected_quantity(image.bin_id)

        lookups.append((ExpectedSource.BIN_STATE, bin_state))
        return lookups

    def _now(self) -> str:
        return format_timestamp(self.clock())
