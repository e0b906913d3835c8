"""moto in server mode on the loopback interface, standing in for S3, SQS, DynamoDB and EventBridge."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import urllib.request

from moto.server import ThreadedMotoServer

from binventory.local.s3_events import moto_events_with_version_ids

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
# Services the counting path uses; each gets AWS_ENDPOINT_URL_<SERVICE> pointing at moto.
EMULATED_SERVICES = ("S3", "SQS", "DYNAMODB", "EVENTBRIDGE", "CLOUDFORMATION", "STS")


class PortInUseError(OSError):
    """The port asked for is taken by another process."""


def ensure_port_free(port: int, host: str = LOOPBACK) -> None:
    """Fail early with a clear message: moto's server thread would otherwise hang on a taken port."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same reuse rule as the servers, so connections lingering in TIME_WAIT do not count as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"Port {port} on {host} is already in use: stop what is using it or pick another port."
                ) from error
            raise


class AwsEmulator:
    """A running moto server and the environment that points boto3 at it."""

    def __init__(self, port: int = 0) -> None:
        ensure_port_free(port)
        self._version_ids = contextlib.ExitStack()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call is noise
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
        self.url = ""

    def start(self) -> AwsEmulator:
        self._version_ids.enter_context(moto_events_with_version_ids())
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # moto keeps its state per process: start every emulator empty, as a fresh account would be.
        urllib.request.urlopen(
            urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10
        )
        return self

    def stop(self) -> None:
        """Empty moto's state (it lives in this process: nothing is left to tear down at exit), stop the
        server, and give moto its own S3 events back."""
        with contextlib.suppress(OSError):
            urllib.request.urlopen(
                urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10
            )
        self._server.stop()
        self._version_ids.close()

    def environment(self) -> dict[str, str]:
        """Variables that send plain boto3 to moto, with dummy credentials that cannot reach AWS."""
        env = {f"AWS_ENDPOINT_URL_{service}": self.url for service in EMULATED_SERVICES}
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        return env
