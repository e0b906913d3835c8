"""Start a model directory under SageMaker's real PyTorch inference toolkit, as the inference DLC does.

The DLC runs `serve` (sagemaker_pytorch_serving_container.serving:main) with the model extracted to
/opt/ml/model. `serve` writes /etc/sagemaker-ts.properties, pip-installs code/requirements.txt when the
model has one, and starts TorchServe (Java), which answers /ping and /invocations and runs the model's
code/inference.py in a Python worker. Here `SAGEMAKER_BASE_DIR` moves /opt/ml to a work folder holding
a copy of the model directory, and pip is cut off from every package source, so a model that needs
anything installed at start fails to start, as it would on an endpoint without internet access.

Used by tests/integration/serving and bench/bench_serving_cold_start.py, from the venv `make setup` builds
(.venv-serving: the toolkit, with only the container's other packages; see `container_site`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVING_VENV = PROJECT_ROOT / ".venv-serving"
TS_CONFIG_FILE = Path("/etc/sagemaker-ts.properties")  # fixed in the toolkit
TS_PROCESS_MARKER = b"org.pytorch.serve.ModelServer"
INSTALL_LOG_LINE = "installing packages from requirements.txt"  # what the toolkit logs before pip
STOP_SECONDS = 30


class ToolkitUnavailable(Exception):
    """The toolkit cannot run on this machine; the message says what to install or change."""


def _torchserve_pids() -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if TS_PROCESS_MARKER in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def check_toolkit(venv: Path = SERVING_VENV) -> None:
    """Raise ToolkitUnavailable unless `serve` can start here."""
    if not (venv / "bin" / "serve").is_file():
        raise ToolkitUnavailable(f"{venv}/bin/serve not found: run `make setup` (it builds {venv.name})")
    if shutil.which("java") is None:
        raise ToolkitUnavailable(
            "Java not found: TorchServe needs Java 17; install it with "
            "`sudo apt-get install openjdk-17-jre-headless`"
        )
    if not os.access(TS_CONFIG_FILE if TS_CONFIG_FILE.exists() else TS_CONFIG_FILE.parent, os.W_OK):
        raise ToolkitUnavailable(
            f"the toolkit writes {TS_CONFIG_FILE}, which this user cannot write: run as root (as the "
            "container does) or in a container"
        )
    running = _torchserve_pids()
    if running:
        raise ToolkitUnavailable(
            f"TorchServe is already running (pid {', '.join(map(str, running))}); the toolkit refuses to "
            "start a second one on the same machine"
        )


def pip_cut_off_env(no_packages: Path) -> dict[str, str]:
    """Environment variables under which pip finds no package anywhere (no index, no config, an empty
    find-links folder): an install attempt fails instead of reaching PyPI or a local mirror."""
    no_packages.mkdir(parents=True, exist_ok=True)
    return {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(no_packages)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ToolkitServer:
    """A running `serve` process and where it answers and logs."""

    process: subprocess.Popen
    port: int
    work_dir: Path
    started_at: float  # time.monotonic() just before the process started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output_file(self) -> Path:
        """What `serve` itself printed (the toolkit's log, pip, TorchServe's console)."""
        return self.work_dir / "serve.out"

    @property
    def log_dir(self) -> Path:
        """LOG_LOCATION: TorchServe's logs, model_log.log holding what inference.py logged."""
        return self.work_dir / "logs"

    def output(self) -> str:
        return self.output_file.read_text(errors="replace") if self.output_file.is_file() else ""

    def model_log(self) -> str:
        path = self.log_dir / "model_log.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def wait_until(self, path: str, timeout: float, jpeg: bytes | None = None) -> float:
        """Poll `path` (a POST of `jpeg` when given) until it answers 200; returns seconds since start."""
        headers = {"Content-Type": "image/jpeg"} if jpeg is not None else {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"serve exited with code {self.process.returncode} before {path} answered:\n"
                    + self.output()[-4000:]
                )
            try:
                request = urllib.request.Request(self.url + path, data=jpeg, headers=headers)
                with urllib.request.urlopen(request, timeout=10) as response:
                    if response.status == 200:
                        return time.monotonic() - self.started_at
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or 503 while the worker loads the model
            time.sleep(0.05)
        raise TimeoutError(f"{path} did not answer 200 within {timeout:.0f} s:\n" + self.output()[-4000:])

    def stop(self) -> int:
        """SIGTERM to `serve`, which passes it to TorchServe, as SageMaker stops a container.

        SIGKILL would orphan the Java server; the process group is killed only if `serve` hangs.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_toolkit_server(model_dir: Path, work_dir: Path, venv: Path = SERVING_VENV) -> ToolkitServer:
    """Copy `model_dir` to `<work_dir>/opt-ml/model` and start `serve` on it (no waiting)."""
    check_toolkit(venv)
    base_dir = work_dir / "opt-ml"
    if base_dir.exists():
        shutil.rmtree(base_dir)
    shutil.copytree(model_dir, base_dir / "model", ignore=shutil.ignore_patterns("__pycache__"))
    logs = work_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "SAGEMAKER_BASE_DIR": str(base_dir),
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
            "SAGEMAKER_BIND_TO_PORT": str(port),
            "LOG_LOCATION": str(logs),
            "METRICS_LOCATION": str(logs),
            # TorchServe's other listeners, off their fixed ports (config.properties keys as TS_ variables)
            "TS_METRICS_ADDRESS": f"http://127.0.0.1:{_free_port()}",
            "TS_GRPC_INFERENCE_PORT": str(_free_port()),
            "TS_GRPC_MANAGEMENT_PORT": str(_free_port()),
            "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONDONTWRITEBYTECODE": "1",  # as in the DLC
            **pip_cut_off_env(work_dir / "no-packages"),
        }
    )
    with (work_dir / "serve.out").open("wb") as output:
        started_at = time.monotonic()
        process = subprocess.Popen(
            [str(venv / "bin" / "serve")],
            cwd=work_dir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ToolkitServer(process=process, port=port, work_dir=work_dir, started_at=started_at)
