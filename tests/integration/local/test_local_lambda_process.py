"""The local pipeline runs a handler as Lambda does: its own process and environment, one event at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from binventory.local.lambda_runtime import LambdaProcess, LambdaProcessError
from binventory.local.poller import LocalLambdaContext

HANDLER_SOURCE = """
import os

COLD_STARTS = [os.getpid()]


def handler(event, context):
    print("a line the handler prints")
    if event.get("raise"):
        raise RuntimeError("asked to fail")
    if event.get("exit"):
        os._exit(3)
    return {
        "pid": os.getpid(),
        "variable": os.environ.get("FUNCTION_VARIABLE"),
        "leaked": [name for name in ("BINVENTORY_LEAK", "AWS_PROFILE") if name in os.environ],
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "cold_starts": len(COLD_STARTS),
    }
"""


@pytest.fixture
def function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaProcess]:
    """A handler module in a folder of its own, started with an environment that names that folder."""
    (tmp_path / "echo_handler.py").write_text(HANDLER_SOURCE)
    # what the pipeline's own process has in its environment, and the function must not see
    monkeypatch.setenv("BINVENTORY_LEAK", "operator side")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    process = LambdaProcess(
        "echo_handler.handler",
        {"PYTHONPATH": str(tmp_path), "FUNCTION_VARIABLE": "set for the function"},
        tmp_path / "logs" / "lambda.log",
    ).start()
    yield process
    process.stop()


def context() -> LocalLambdaContext:
    return LocalLambdaContext(aws_request_id="request-1")


def test_the_handler_runs_in_its_own_process_with_only_its_own_environment(
    function: LambdaProcess, tmp_path: Path
) -> None:
    first = function.invoke({"Records": []}, context())
    second = function.invoke({"Records": []}, context())

    assert first["pid"] != os.getpid()
    assert first["variable"] == "set for the function" and first["leaked"] == []
    assert (first["remaining"], first["request_id"]) == (60_000, "request-1")
    # warm: the second event reaches the same execution environment, imported once
    assert (second["pid"], second["cold_starts"]) == (first["pid"], 1)
    # what the handler prints goes to the function's log, not over the caller's output
    assert "a line the handler prints" in (tmp_path / "logs" / "lambda.log").read_text()


def test_a_raising_handler_fails_the_invocation_and_the_environment_stays_warm(
    function: LambdaProcess,
) -> None:
    before = function.invoke({}, context())

    with pytest.raises(LambdaProcessError, match="asked to fail"):
        function.invoke({"raise": True}, context())

    assert function.invoke({}, context())["pid"] == before["pid"]


def test_a_process_that_dies_is_replaced_by_a_cold_start_on_the_next_event(function: LambdaProcess) -> None:
    before = function.invoke({}, context())

    with pytest.raises(LambdaProcessError, match="died"):
        function.invoke({"exit": True}, context())
    after = function.invoke({}, context())

    assert after["pid"] != before["pid"] and after["cold_starts"] == 1


def test_a_handler_that_cannot_be_imported_says_so_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(LambdaProcessError, match="did not start") as failure:
        LambdaProcess("no_such_module.handler", {}, tmp_path / "lambda.log").start()

    assert "No module named 'no_such_module'" in str(failure.value)


def test_repeated_failures_log_one_line_each_and_the_traceback_once(
    function: LambdaProcess, tmp_path: Path
) -> None:
    # given: the same failure, three times (an outage fails every batch alike)
    for _ in range(3):
        with pytest.raises(LambdaProcessError) as failure:
            function.invoke({"raise": True}, context())

    # then: the caller's error is one line naming the log; the log has three lines and one traceback
    assert "\n" not in str(failure.value) and "lambda.log" in str(failure.value)
    log = (tmp_path / "logs" / "lambda.log").read_text()
    assert log.count("invocation failed: RuntimeError: asked to fail") == 3
    assert log.count("Traceback (most recent call last)") == 1
