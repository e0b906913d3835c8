"""Commands that act on AWS alone say so when the shell points at the local pipeline, instead of reaching AWS.

`local demo --keep-running` prints exports that point boto3 at moto and the CLI at the local tables, and one
marker, BINVENTORY_LOCAL_PIPELINE. With it set, a command that has nothing to act on locally (prices of
running endpoints, SageMaker training jobs, the model registry, batch transform, CloudWatch) would otherwise
go to real AWS with dummy credentials or fail in moto with an error that explains nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import click

LOCAL_MARKER = "BINVENTORY_LOCAL_PIPELINE"

# Top-level command -> what to use instead on this machine.
NO_LOCAL_MEANING = {
    "costs": "it prices what runs on AWS, and the local pipeline runs nothing billed; "
    "`binventory costs --per-million` works offline",
    "status": "it reads CloudWatch metrics the local pipeline does not publish; "
    "use `binventory queue status` and `binventory inventory bins`",
    "train": "it starts SageMaker training jobs; train on this machine with `binventory local train`",
    "model": "it manages the SageMaker model registry; the local pipeline serves the model given to "
    "`binventory local demo --model`",
    "count": "it runs a SageMaker batch transform; upload photos to the local ingest bucket instead",
}


def running_locally() -> bool:
    """True when the shell holds the local pipeline's exports."""
    return bool(os.environ.get(LOCAL_MARKER))


def refusal(name: str) -> click.ClickException:
    return click.ClickException(
        f"`binventory {name}` has no local meaning: {NO_LOCAL_MEANING[name]}. To run it against AWS, "
        f"unset the local pipeline's exports ({LOCAL_MARKER}, BINVENTORY_*, AWS_ENDPOINT_URL_*)."
    )


def refuse_locally(
    command: click.Command, name: str, allowed: Callable[[dict[str, Any]], bool] | None = None
) -> None:
    """Make `command` (each leaf, for a group) refuse to run locally, unless `allowed(params)` says it may."""
    if isinstance(command, click.Group):
        for child in command.commands.values():
            refuse_locally(child, name, allowed)
        return
    callback = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if running_locally() and not (allowed and allowed(kwargs)):
            raise refusal(name)
        return callback(*args, **kwargs)

    command.callback = guarded
