"""Record the AWS calls a principal's code makes through boto3, from botocore's own events.

`provide-client-params` sees every call with the parameters the caller passed, before validation or
any stand-in answers it (FakeEndpoint, injected faults, moto); `after-call` then tells how it ended,
which matters where IAM does: a GetObject of a missing key needs s3:ListBucket to be a 404.

A call is the principal's when its code is on the call stack (`lambdas/counter/` for the counting
Lambda, `binventory/` for the operator CLI): a test arranging its world through the same session, or
a moto stand-in writing what the emulated service would write, is not.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore
import moto
import pytest
from botocore.hooks import BaseEventHooks

_PARAMS_EVENT = "provide-client-params"
_AFTER_EVENT = "after-call"


@dataclass
class AwsCall:
    """One API call as the caller made it; `error_code` is AWS's answer when it was an error."""

    service: str  # botocore's service name, e.g. "sagemaker-runtime"
    operation: str  # e.g. "InvokeEndpoint"
    params: dict[str, Any]
    region: str
    error_code: str | None = None

    def __str__(self) -> str:
        shown = {key: value for key, value in self.params.items() if key not in ("Body", "Entries")}
        return f"{self.service}.{self.operation}({_short(shown)})"


_MOTO_DIR = str(Path(moto.__file__).resolve().parent)


@dataclass
class CallRecorder:
    """Collects the calls made from code under `code_dir` by clients whose event hooks it listens on."""

    code_dir: Path
    calls: list[AwsCall] = field(default_factory=list)
    # CloudFormation outputs the recorded DescribeStacks calls returned (how the CLI found its resources).
    stack_outputs: dict[str, str] = field(default_factory=dict)
    _pending: dict[int, AwsCall] = field(default_factory=dict)

    def attach(self, events: BaseEventHooks) -> None:
        """Listen on a session's event hooks; clients made from the session afterwards copy them."""
        events.register_first(_PARAMS_EVENT, self._on_params, unique_id=f"iam-record-{id(self)}")
        events.register_first(_AFTER_EVENT, self._on_result, unique_id=f"iam-result-{id(self)}")

    def _made_by_principal(self, context: dict[str, Any]) -> bool:
        config = context.get("client_config")
        if config is not None and config.signature_version is botocore.UNSIGNED:
            return False  # anonymous requests (a public bucket) need no IAM permission
        files = [frame.f_code.co_filename for frame in _frames()]
        if threading.current_thread() is not threading.main_thread():
            # A worker thread (s3transfer's, a pool's) works for whatever the main thread is running.
            files += [frame.f_code.co_filename for frame in _frames(_main_thread_frame())]
        if any(name.startswith(_MOTO_DIR) for name in files):
            return False  # a stand-in acting as the AWS service, inside another call
        code_dir = str(self.code_dir)
        return any(name.startswith(code_dir) for name in files)

    def _on_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self._made_by_principal(context):
            return
        call = AwsCall(
            service=model.service_model.service_name,
            operation=model.name,
            params=_copy(params),
            region=str(context.get("client_region") or ""),
        )
        self.calls.append(call)
        self._pending[id(context)] = call

    def _on_result(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = self._pending.pop(id(context), None)
        if call is None or not isinstance(parsed, dict):
            return
        if "Error" in parsed:
            call.error_code = str(parsed["Error"].get("Code", ""))
        for stack in parsed.get("Stacks", []) if call.operation == "DescribeStacks" else []:
            self.stack_outputs.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})


def record_calls(monkeypatch: pytest.MonkeyPatch, code_dir: Path) -> CallRecorder:
    """Record the calls of code under `code_dir` through every boto3 session made from now on."""
    recorder = CallRecorder(code_dir.resolve())
    original_init = boto3.session.Session.__init__

    def init_and_attach(session: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
        original_init(session, *args, **kwargs)
        recorder.attach(session.events)

    monkeypatch.setattr(boto3.session.Session, "__init__", init_and_attach)
    if boto3.DEFAULT_SESSION is not None:
        recorder.attach(boto3.DEFAULT_SESSION.events)
    return recorder


def _main_thread_frame() -> Any:
    return sys._current_frames().get(threading.main_thread().ident or 0)


def _frames(start: Any = None) -> Iterator[Any]:
    frame = start if start is not None else sys._getframe(2)
    while frame is not None:
        yield frame
        frame = frame.f_back


def _copy(value: Any) -> Any:
    """The parameters as they were when the call was made; streams and the like are kept as they are."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(item) for item in value]
    return value


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
