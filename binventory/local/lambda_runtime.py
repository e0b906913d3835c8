"""A Lambda handler (the counting or the review Lambda's) run as Lambda runs it: in a process of its own.

`LambdaProcess` (the parent side, used by the local pipeline's poller) starts
`python -m binventory.local.lambda_runtime MODULE.FUNCTION` with the function's environment: the counting
stack's variables, and endpoint URLs pointing at moto and the local model server. The child imports the
handler once, its cold start, and then serves one invocation at a time: a JSON line on its stdin
(`{"event": ..., "context": {...}}`) is answered by a JSON line on its protocol stream (`{"result": ...}`,
or Lambda's `{"errorType": ..., "errorMessage": ...}` when the handler raised, which fails the whole batch
as in Lambda). Everything the
handler prints (Powertools' JSON logs and EMF metrics) goes to the function's log file. A child that
dies or outlives its timeout is replaced on the next invocation, as Lambda starts a new execution
environment.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import os
import select
import subprocess
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from binventory.local.poller import LocalLambdaContext
from lambdas.counter.api import DistinctErrors, reason

READY = "READY"
START_SECONDS = 60
# Lambda stops an invocation at its timeout; the child gets this much longer before it is killed.
KILL_GRACE_SECONDS = 30
# Variables of the pipeline's own process that the function must not inherit: it gets its own.
NOT_INHERITED_PREFIXES = ("AWS_", "BINVENTORY_", "POWERTOOLS_")


class LambdaProcessError(RuntimeError):
    """The function's process could not start, died, or did not answer in time; the message says why."""


class LambdaProcess:
    """One execution environment of a handler: a child process fed one event at a time."""

    def __init__(self, handler: str, environment: Mapping[str, str], log_path: Path) -> None:
        self.handler = handler
        self.environment = dict(environment)
        self.log_path = log_path
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> LambdaProcess:
        """Start the child and wait for its cold start (the handler module imported)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED_PREFIXES)}
        with open(self.log_path, "a") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "binventory.local.lambda_runtime", self.handler],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**inherited, **self.environment},
                text=True,
            )
        line = self._read_line(START_SECONDS)
        if line.strip() != READY:
            self.stop()
            raise LambdaProcessError(
                f"The handler {self.handler} did not start; see {self.log_path}:\n" + _tail(self.log_path)
            )
        return self

    def invoke(self, event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        """Run the handler on one event in the child; raise when it raised (the batch then fails)."""
        if self._process is None or self._process.poll() is not None:
            self.stop()
            self.start()  # a new execution environment: another cold start
        assert self._process is not None and self._process.stdin is not None
        request = {"event": event, "context": dataclasses.asdict(context)}
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except BrokenPipeError as error:
            self.stop()
            raise LambdaProcessError(f"the handler's process died; see {self.log_path}") from error
        line = self._read_line(context.timeout_millis / 1000 + KILL_GRACE_SECONDS)
        if not line:
            self.stop()
            raise LambdaProcessError(
                f"the handler's process died or timed out on an invocation; see {self.log_path}"
            )
        answer = json.loads(line)
        if "errorType" in answer:
            raise LambdaProcessError(
                f"the handler raised {answer['errorType']}: {answer['errorMessage']} (see {self.log_path})"
            )
        return answer["result"]

    __call__ = invoke

    def stop(self) -> None:
        """End the child: EOF on its stdin, then terminate, then kill."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()

    def _read_line(self, timeout_seconds: float) -> str:
        """One line of the child's protocol stream, or "" when it closed or stayed silent too long."""
        assert self._process is not None and self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], timeout_seconds)
        return self._process.stdout.readline() if ready else ""


def serve(handler: str, requests: IO[str], answers: IO[str]) -> None:
    """The child's loop: import the handler (cold start), then answer one request line at a time."""
    module_name, function_name = handler.rsplit(".", 1)
    function = getattr(importlib.import_module(module_name), function_name)
    answers.write(READY + "\n")
    answers.flush()
    seen = DistinctErrors()
    for line in requests:
        request = json.loads(line)
        try:
            answer = {"result": function(request["event"], LocalLambdaContext(**request["context"]))}
        except Exception as error:
            # Lambda's own shape for a function error. One line per failure in the log, the traceback once
            # per distinct error: an outage fails every batch the same way.
            print(f"invocation failed: {reason(error).splitlines()[0]}", file=sys.stderr)
            if seen.first_time(error):
                traceback.print_exc()
            answer = {"errorType": type(error).__name__, "errorMessage": first_line(error)}
        sys.stdout.flush()
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()


def first_line(error: BaseException) -> str:
    """The error's message up to its first line break (a batch error lists every record's traceback)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("handler", help="MODULE.FUNCTION, e.g. lambdas.counter.handler.lambda_handler")
    args = parser.parse_args(argv)
    # The protocol keeps the original stdout; what the handler prints goes where stderr goes (the log).
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(args.handler, sys.stdin, answers)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text().splitlines()[-lines:])
    except OSError:
        return "(no log)"


if __name__ == "__main__":
    main()
