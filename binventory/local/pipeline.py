"""The local pipeline's parts, started and stopped together: moto, the model server, the handler, the poller.

The counting Lambda's own handler runs as Lambda runs it: in a process of its own (`lambda_runtime`),
started with the function's environment (the counting stack's variables, endpoints pointing at moto and
at the model server), cold-started once and fed one SQS batch at a time by the poller. This process
points only the operator's side (the CLI's tables, `--keep-running`'s exports) at the same services.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from binventory.inventory.expected_csv import read_expected_csv
from binventory.inventory.operator_inventory import OperatorInventory
from binventory.local.emulator import REGION, AwsEmulator, ensure_port_free
from binventory.local.lambda_runtime import LambdaProcess
from binventory.local.poller import SqsEventSourcePoller
from binventory.local.provision import LocalResources, provision
from binventory.local.review_server import ReviewServer
from binventory.local.supervisor import Supervisor
from binventory.resources import StackResources
from contracts.deployment_settings import Settings, load_settings_from_cdk_json
from lambdas.counter.api import HANDLER
from lambdas.review.api import HANDLER as REVIEW_HANDLER

LOGGER = logging.getLogger(__name__)
MODEL_SERVER_START_SECONDS = 180


# How long a message read by a view stays hidden: longer than reading a queue of thousands takes.
VIEW_HIDE_SECONDS = 300


class LocalPipelineError(RuntimeError):
    """Something the user can fix stopped the local pipeline (a message says what)."""


@dataclass(frozen=True)
class Upload:
    """One object to put into the ingest bucket."""

    key: str
    body: bytes
    content_type: str = "image/jpeg"
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class ProcessingProgress:
    """Running totals the caller's progress bar shows."""

    received: int = 0
    succeeded: int = 0
    failed: int = 0


class ModelServerProcess:
    """The model server in a child process, so it can be killed and restarted like a real endpoint."""

    def __init__(
        self,
        model_dir: Path,
        endpoint_name: str,
        port: int,
        log_path: Path,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.environment = environment or {}
        self.endpoint_name = endpoint_name
        self.port = port
        self.log_path = log_path
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> ModelServerProcess:
        ensure_port_free(self.port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "binventory.local.model_server",
                    "--model",
                    str(self.model_dir),
                    "--endpoint-name",
                    self.endpoint_name,
                    "--port",
                    str(self.port),
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, **self.environment},
            )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], MODEL_SERVER_START_SECONDS)
        line = self._process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.stop()
            raise LocalPipelineError(
                f"The model server did not start (model {self.model_dir}); see {self.log_path}:\n"
                + _tail(self.log_path)
            )
        self.url = line.split(" ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])  # a restart reuses it: the function's URL stays right
        return self

    def exit_code(self) -> int | None:
        """The child's exit code once it has exited (reaping it), None while it runs or before it started."""
        process = self._process
        return None if process is None else process.poll()

    def restart(self) -> None:
        """Start the server again on the port it had (what the supervisor calls after a crash)."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL the child, as an out-of-memory kill would (for tests of the supervisor)."""
        if self._process is not None:
            self._process.kill()

    def stop(self) -> None:
        """Terminate the child (kill if it does not stop within a few seconds)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._process = None


class LocalPipeline:
    """Everything the counting path needs, on this machine; use it as a context manager."""

    def __init__(
        self,
        model_dir: Path,
        *,
        work_dir: Path,
        settings: Settings | None = None,
        aws_port: int = 0,
        model_port: int = 0,
        notify: Callable[[str], None] | None = None,
        model_server_environment: dict[str, str] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.model_server_environment = model_server_environment
        self.work_dir = work_dir
        self.settings = settings or load_settings_from_cdk_json()
        self.aws_port = aws_port
        self.model_port = model_port
        self.emulator: AwsEmulator | None = None
        self.model_server: ModelServerProcess | None = None
        self.resources: LocalResources | None = None
        self.function: LambdaProcess | None = None
        self.review_server: ReviewServer | None = None
        self.poller: SqsEventSourcePoller | None = None
        self.supervisor: Supervisor | None = None
        self.notify = notify or LOGGER.warning
        self._saved_environment: dict[str, str | None] = {}
        self._stack = contextlib.ExitStack()

    # --- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> LocalPipeline:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start moto, create the resources, start the model server, cold-start the handler's process."""
        ensure_port_free(self.model_port)  # before moto starts: a taken port is named at once
        self.emulator = AwsEmulator(self.aws_port).start()
        self._stack.callback(self.emulator.stop)
        self._stack.callback(self._restore_environment)
        self._set_environment(self.emulator.environment())
        self.resources = provision(self.session(), self.settings)
        self.model_server = ModelServerProcess(
            self.model_dir,
            self.resources.endpoint_name,
            self.model_port,
            self.work_dir / "logs" / "model-server.log",
            self.model_server_environment,
        ).start()
        self._stack.callback(lambda: self.model_server and self.model_server.stop())
        self.supervisor = Supervisor(self.model_server, notify=self.notify).start()
        self._stack.callback(self.supervisor.stop)  # runs before the server's stop: not taken for a crash
        self.function = LambdaProcess(
            HANDLER,
            {
                **self.emulator.environment(),
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.model_server.url,
                **self.resources.lambda_environment(self.settings),
            },
            self.work_dir / "logs" / "lambda.log",
        ).start()
        self._stack.callback(lambda: self.function and self.function.stop())
        self._set_environment({"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.model_server.url})
        self._set_environment(self.resources.cli_environment())
        self.poller = SqsEventSourcePoller(
            sqs=self.session().client("sqs"),
            queue_url=self.resources.queue_url,
            queue_arn=self.resources.queue_arn,
            handler=self.function.invoke,
            batch_size=self.settings.counting.batch_size,
            region=REGION,
        )

    def close(self) -> None:
        """Stop everything this pipeline started, in reverse order; safe to call twice."""
        self._stack.close()

    def serve_review_page(self, port: int = 0) -> str:
        """Start the review Lambda (a process of its own, as Lambda runs it) behind the page; its address."""
        assert self.emulator and self.resources
        if self.review_server is None:
            function = LambdaProcess(
                REVIEW_HANDLER,
                {**self.emulator.environment(), **self.resources.review_lambda_environment()},
                self.work_dir / "logs" / "review-lambda.log",
            ).start()
            self._stack.callback(function.stop)
            self.review_server = ReviewServer(function.invoke, port=port).start()
            self._stack.callback(self.review_server.stop)
        return self.review_server.url

    def environment(self) -> dict[str, str]:
        """What a shell needs to reach this pipeline with the aws CLI or `binventory inventory`."""
        assert self.emulator and self.model_server and self.resources
        return {
            **self.emulator.environment(),
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.model_server.url,
            **self.resources.cli_environment(),
        }

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name=REGION)

    # --- the counting path -----------------------------------------------------------------------
    def upload(self, uploads: Iterable[Upload], on_each: Callable[[Upload], None] | None = None) -> int:
        """Put objects into the ingest bucket; notified prefixes enqueue an S3 event each."""
        assert self.resources
        s3 = self.session().client("s3")
        count = 0
        for item in uploads:
            s3.put_object(
                Bucket=self.resources.ingest_bucket,
                Key=item.key,
                Body=item.body,
                ContentType=item.content_type,
                Metadata=item.metadata,
            )
            count += 1
            if on_each:
                on_each(item)
        return count

    def process(
        self, *, timeout_seconds: float = 600, on_progress: Callable[[ProcessingProgress], None] | None = None
    ) -> ProcessingProgress:
        """Poll until the queue is drained (retries and redrives included) or the timeout passes."""
        assert self.poller and self.resources
        progress = ProcessingProgress()
        sqs = self.session().client("sqs")
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.supervisor and not self.supervisor.healthy.is_set():
                # The endpoint is restarting: deliveries now would only spend the messages' receives.
                self.supervisor.wait_until_healthy(min(1.0, max(deadline - time.monotonic(), 0.0)))
                continue
            outcome = self.poller.poll_once()
            progress.received += outcome.received
            progress.succeeded += outcome.succeeded
            progress.failed += outcome.failed
            if on_progress:
                on_progress(progress)
            if outcome.received == 0:
                if self.queue_depth(sqs) == 0:
                    return progress
                time.sleep(0.2)
        raise LocalPipelineError(
            f"The ingest queue did not drain within {timeout_seconds:.0f} s "
            f"({self.queue_depth(sqs)} messages left); see the logs under {self.work_dir / 'logs'}."
        )

    def load_expected(self, rows: list[tuple[str, int]]) -> int:
        """Load expected quantities as a warehouse exports them: a CSV read by `inventory load-expected`."""
        export = self.work_dir / "warehouse-expected.csv"
        with export.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["bin_id", "expected_quantity"])
            writer.writerows(rows)
        loaded_at = datetime.now(UTC).isoformat()
        return self.operator_inventory().load_expected(read_expected_csv(export), loaded_at)

    def operator_inventory(self) -> OperatorInventory:
        """The operator CLI's view of the tables, resolved through this pipeline's BINVENTORY_* variables."""
        return OperatorInventory(StackResources(region=REGION))

    def queue_depth(self, sqs: Any | None = None) -> int:
        """Visible plus in-flight messages on the ingest queue."""
        assert self.resources
        sqs = sqs or self.session().client("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def records(self) -> list[dict[str, Any]]:
        """Every item of the inventory table, as plain Python values."""
        return list(self.operator_inventory().all_records())

    def dead_letters(self) -> list[dict[str, Any]]:
        """Messages the redrive policy moved to the dead-letter queue (left in place)."""
        assert self.resources
        return read_queue_view(self.session().client("sqs"), self.resources.dead_letter_queue_url)

    def alerts(self) -> list[dict[str, Any]]:
        """MISMATCH / LOW_CONFIDENCE events the counter published, via the bus's rule to a queue."""
        assert self.resources
        return read_queue_view(self.session().client("sqs"), self.resources.alerts_queue_url)

    # --- internals -----------------------------------------------------------------------------------
    def _set_environment(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_environment.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_environment(self) -> None:
        for key, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environment.clear()


def read_queue_view(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Read every message without consuming it: each stays hidden until all are read, then shows again.

    Hiding each message while the others are read is what lets the loop end when the queue has none left
    to show; a short visibility let read messages come back and crowd out unread ones in a long queue.
    """
    seen: dict[str, dict[str, Any]] = {}
    receipts: dict[str, str] = {}
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=VIEW_HIDE_SECONDS,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen[message["MessageId"]] = message
            receipts[message["MessageId"]] = message["ReceiptHandle"]
    handles = list(receipts.values())
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(number), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for number, handle in enumerate(handles[start : start + 10])
            ],
        )
    return list(seen.values())


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text().splitlines()[-lines:])
    except OSError:
        return "(no log)"
