"""Record transform answers with the counting Lambda's own service, so statuses cannot differ.

`ImageCounter` (through lambdas/counter/api.py) reads each image, applies the Lambda's checks and
expected-quantity precedence, reconciles, announces and writes one record exactly as for an
upload notification; only its endpoint is replaced by the answer the transform job wrote.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from binventory.backfill.inputs import BinImage
from contracts.model_answer import MalformedPrediction
from lambdas.counter.api import (
    NO_DEADLINE,
    CounterConfiguration,
    CountResult,
    Deadline,
    EventNotPublished,
    EventPublisher,
    ImageCounter,
    ImageStore,
    InventoryRecord,
    InventoryRepository,
    KnownState,
    SaveOutcome,
)

KNOWN_STATE_BATCH = 100


class NoTransformAnswer(Exception):
    """The image passed the Lambda's checks but the transform job wrote no answer for it."""


class TransformAnswer:
    """Stands in for the endpoint: answers with what the transform job wrote for this one image."""

    def __init__(self, key: str, answer: bytes | None) -> None:
        self.key = key
        self.answer = answer

    def predict(self, image: bytes, content_type: str, deadline: Deadline = NO_DEADLINE) -> dict[str, Any]:
        """The answer already written; `deadline` (the Lambda's time bound) has nothing to bound here."""
        if self.answer is None:
            raise NoTransformAnswer(f"the transform job wrote no answer for {self.key}")
        try:
            return json.loads(self.answer)
        except ValueError as error:
            raise MalformedPrediction(f"transform answer is not JSON: {self.answer[:200]!r}") from error


class SilentEvents:
    """Used with --no-events: records are written, nobody is notified."""

    def publish(self, record: InventoryRecord) -> None:
        return None


@dataclass
class BackfillReport:
    statuses: Counter[str] = field(default_factory=Counter)
    already_recorded: int = 0
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorder:
    """The Lambda's collaborators, built once and shared by every image's counter."""

    images: ImageStore
    inventory: InventoryRepository
    events: EventPublisher | SilentEvents
    configuration: CounterConfiguration

    @classmethod
    def from_clients(
        cls, client: Callable[[str], Any], configuration: CounterConfiguration, publish_events: bool
    ) -> Recorder:
        events: EventPublisher | SilentEvents = SilentEvents()
        if publish_events:
            events = EventPublisher(client("events"), configuration.event_bus_name)
        return cls(
            images=ImageStore(client("s3")),
            inventory=InventoryRepository(
                client("dynamodb"),
                inventory_table=configuration.inventory_table,
                bin_state_table=configuration.bin_state_table,
            ),
            events=events,
            configuration=configuration,
        )

    def counter(self, endpoint: TransformAnswer) -> ImageCounter:
        return ImageCounter(
            images=self.images,
            endpoint=endpoint,
            inventory=self.inventory,
            events=self.events,
            configuration=self.configuration,
        )


def record_all(
    recorder: Recorder,
    images: Sequence[BinImage],
    answers: dict[str, bytes],
    workers: int,
    on_done: Callable[[], None] = lambda: None,
) -> BackfillReport:
    """Count every image once; failures are reported per image and never stop the others."""
    report = BackfillReport()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(images), KNOWN_STATE_BATCH):
            batch = images[start : start + KNOWN_STATE_BATCH]
            # One read per batch, as the Lambda does: bins' expected quantities and records already made.
            known = recorder.counter(TransformAnswer("", None)).read_known_state(i.upload for i in batch)
            record = functools.partial(_record_one, recorder, answers=answers, known=known)
            for image, outcome in zip(batch, pool.map(record, batch), strict=True):
                if isinstance(outcome, str):
                    report.failed[image.upload.key] = outcome
                elif outcome.outcome is SaveOutcome.DUPLICATE or outcome.record is None:
                    report.already_recorded += 1
                else:
                    report.statuses[outcome.record.status.value] += 1
                on_done()
    return report


def _record_one(
    recorder: Recorder, image: BinImage, *, answers: dict[str, bytes], known: KnownState
) -> CountResult | str:
    """The Lambda's result for one image, or why it could not be recorded."""
    answer = TransformAnswer(image.upload.key, answers.get(image.upload.key))
    try:
        return recorder.counter(answer).count(image.upload, known)
    except (NoTransformAnswer, MalformedPrediction, EventNotPublished, ClientError, BotoCoreError) as error:
        return str(error)
