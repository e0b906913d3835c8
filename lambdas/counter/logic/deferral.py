"""When a message the invocation had no time for goes back to the queue as a new message, and when it fails.

A message returned as a batch failure uses up one of the queue's receives (`counting.max_receive_count`), so
under a slow endpoint good photos would reach the dead-letter queue only for waiting. A deferred message is
sent again instead, as a new message that counts how often it was deferred, and the one received is done.
After `MAX_DEFERRALS` it is failed like any other message, so a photo that can never be reached still ends
in the dead-letter queue rather than cycling for the queue's whole retention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The message attribute that counts a message's deferrals (absent: never deferred).
DEFERRALS_ATTRIBUTE = "binventory-deferrals"
MAX_DEFERRALS = 10


def deferrals_of(message_attributes: Mapping[str, Any]) -> int:
    """How often the message was deferred before, from its attributes as Lambda's SQS event carries them."""
    attribute = message_attributes.get(DEFERRALS_ATTRIBUTE) or {}
    value = attribute.get("stringValue") if isinstance(attribute, Mapping) else None
    try:
        return max(0, int(value)) if value is not None else 0
    except ValueError:
        return 0


def send_again(deferrals: int) -> bool:
    """Whether a message deferred `deferrals` times before goes back to the queue as a new message."""
    return deferrals < MAX_DEFERRALS
