"""Send a deferred message back to its queue as a new message (its receives start again from zero)."""

from __future__ import annotations

from typing import Any

from ..logic.deferral import DEFERRALS_ATTRIBUTE


class Requeue:
    """Sends message bodies back to the queue they came from, counting the deferral in an attribute."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self._urls: dict[str, str] = {}

    def send_again(self, *, queue_arn: str, body: str, deferrals: int) -> str:
        """Send `body` to the queue `queue_arn` with its deferral count; returns the new message's id."""
        response = self._sqs.send_message(
            QueueUrl=self._url(queue_arn),
            MessageBody=body,
            MessageAttributes={DEFERRALS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferrals)}},
        )
        return str(response["MessageId"])

    def _url(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            # arn:aws:sqs:<region>:<account>:<name>
            account, name = queue_arn.split(":")[4:6]
            self._urls[queue_arn] = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
        return self._urls[queue_arn]
