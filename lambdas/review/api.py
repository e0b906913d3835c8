"""What other parts may use of the review Lambda: its service and rules, for the CLI and the local page.

`binventory review ...` drives `ReviewService` with the operator's credentials, so the CLI and the page
resolve flags through the same conditional write; `binventory data reviews` reads the resolved flags
through the same repository. The local pipeline runs `HANDLER` in a process of its own, as Lambda does.
Only the names below are promised; everything else in lambdas/review belongs to the Lambda.
"""

from __future__ import annotations

from .configuration import ReviewConfiguration
from .dal.reviews import RecordNotFound, ReviewRepository
from .logic.identity import GROUPS_CLAIM
from .logic.queue import QueueEntry
from .logic.resolution import InvalidResolution, Resolution, parse_resolution
from .logic.stats import WeekStats, is_real_error
from .service import AlreadyResolved, NotAFlag, ReviewService

# MODULE.FUNCTION of the handler, as this package is imported here (`lambdas.review.handler...` in the
# checkout; the deployed asset names it `review.handler.lambda_handler`).
HANDLER = f"{__package__}.handler.lambda_handler"

__all__ = [
    "GROUPS_CLAIM",
    "HANDLER",
    "AlreadyResolved",
    "InvalidResolution",
    "NotAFlag",
    "QueueEntry",
    "RecordNotFound",
    "Resolution",
    "ReviewConfiguration",
    "ReviewRepository",
    "ReviewService",
    "WeekStats",
    "is_real_error",
    "parse_resolution",
]
