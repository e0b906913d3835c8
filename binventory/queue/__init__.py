"""`binventory queue`: the ingest queue and its dead-letter queue, as an operator watches and redrives."""

from binventory.queue.commands import queue_group

__all__ = ["queue_group"]
