"""What other parts may use of the counting Lambda: its service and collaborators, its checks, its handler.

The operator CLI's backfill (`binventory count backfill`) records a transform job's answers through the
Lambda's own `ImageCounter`, so a backfilled image gets exactly the record, status and event the Lambda
would have written; it checks images with the Lambda's own image checks before sending them. The local
pipeline runs `HANDLER` in a process of its own, as Lambda does. Only the names below are promised;
everything else in lambdas/counter belongs to the Lambda and may change with it. The contracts the
Lambda shares with other parts (tables, keys, environment, the endpoint's answer) are in `contracts/`.
"""

from __future__ import annotations

from .configuration import CounterConfiguration
from .dal.events import EventNotPublished, EventPublisher
from .dal.images import ImageStore
from .dal.inventory import InventoryRepository, KnownState, SaveOutcome
from .deadline import NO_DEADLINE, Deadline
from .logic.distinct_errors import DistinctErrors, reason
from .logic.image_check import detect_format, size_problem
from .logic.notifications import UploadedObject
from .logic.records import InventoryRecord
from .service import CountResult, ImageCounter

# MODULE.FUNCTION of the handler, as this package is imported here (`lambdas.counter.handler...` in the
# checkout; the deployed asset names it `counter.handler.lambda_handler`).
HANDLER = f"{__package__}.handler.lambda_handler"

__all__ = [
    "HANDLER",
    "NO_DEADLINE",
    "CountResult",
    "CounterConfiguration",
    "Deadline",
    "DistinctErrors",
    "EventNotPublished",
    "EventPublisher",
    "ImageCounter",
    "ImageStore",
    "InventoryRecord",
    "InventoryRepository",
    "KnownState",
    "SaveOutcome",
    "UploadedObject",
    "detect_format",
    "reason",
    "size_problem",
]
