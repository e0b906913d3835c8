"""Run a CreateTrainingJob request under SageMaker's real training toolkit, as the PyTorch training DLC does.

SageMaker writes the request into /opt/ml/input/config (hyperparameters.json, inputdataconfig.json,
resourceconfig.json), downloads each channel into /opt/ml/input/data/<channel>/, creates the checkpoint
folder when the request has a CheckpointConfig, and starts the image's `train` (sagemaker-training's entry
point, which hands over to the module the DLC names in SAGEMAKER_TRAINING_MODULE). Here SAGEMAKER_BASE_DIR
moves /opt/ml to a work folder, a local folder stands in for the dataset bucket, and the source archive is
the file the synthesized cloud assembly uploads to `sagemaker_submit_directory`.

The toolkit runs from `.venv-training-toolkit` (`make setup`), which sees .venv's packages after its own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from iam_check.synth import synthesized
from state_machine_runner import run_state_machine, state_machine_definition

from binventory.toolkit.server import pip_cut_off_env
from contracts import stack_outputs

REPO_ROOT = Path(__file__).resolve().parents[3]
TOOLKIT_VENV = REPO_ROOT / ".venv-training-toolkit"
# ENV of the PyTorch training DLC's Dockerfile (aws/deep-learning-containers, pytorch/training/docker).
PYTORCH_TRAINING_MODULE = "sagemaker_pytorch_container.training:main"
CONTAINER_BASE = PurePosixPath("/opt/ml")
DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"  # CheckpointConfig.LocalPath when the request names none
ASSET_ACCOUNT = "123456789012"  # the account stacks_testkit.render puts in place of ${AWS::AccountId}
STAGE = "dev"  # cdk.json as committed
# What the state machine's later states get back; only the training job's request matters here.
JOB_RESULTS = {
    "Train": {"TrainingJobName": "toolkit-train"},
    "Describe best training job": {
        "TrainingJobName": "toolkit-train",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/toolkit-train",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://artifacts/models/toolkit-train/output/model.tar.gz"},
        "FinalMetricDataList": [],
    },
    "Publish model package": {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/binventory-dev-countnet/1"
    },
}


class ToolkitUnavailable(Exception):
    """The training toolkit's venv is not built; the message says how to build it."""


def check_toolkit(venv: Path = TOOLKIT_VENV) -> Path:
    """The toolkit's `train` entry point, or ToolkitUnavailable saying how to get it."""
    train = venv / "bin" / "train"
    if not train.is_file():
        raise ToolkitUnavailable(
            f"{train} not found: run `make setup` (it builds {venv.name} from "
            "requirements-training-toolkit.txt)"
        )
    return train


def training_job_request(hyperparameters: Mapping[str, str]) -> tuple[dict[str, Any], Path]:
    """The CreateTrainingJob request the state machine sends for a run with these hyperparameters (no
    tuning), and the source archive that deploying uploads to its `sagemaker_submit_directory`."""
    app = synthesized()
    template = app.templates[stack_outputs.stack_name(STAGE, "training")]
    calls, _ = run_state_machine(
        state_machine_definition(template),
        {"hyperparameters": dict(hyperparameters), "tune": False},
        JOB_RESULTS,
        execution_name="toolkit",
    )
    (request,) = [call.arguments for call in calls if call.api == "CreateTrainingJob"]
    return request, uploaded_asset(app.outdir, request["HyperParameters"]["sagemaker_submit_directory"])


def uploaded_asset(outdir: Path, s3_uri: str) -> Path:
    """The file in the cloud assembly `outdir` that deploying uploads to `s3_uri` (its asset manifests)."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    for manifest in sorted(outdir.glob("*.assets.json")):
        for asset in json.loads(manifest.read_text())["files"].values():
            for destination in asset["destinations"].values():
                deployed_bucket = destination["bucketName"].replace("${AWS::AccountId}", ASSET_ACCOUNT)
                if (deployed_bucket, destination["objectKey"]) == (bucket, key):
                    return outdir / asset["source"]["path"]
    raise LookupError(f"no asset of {outdir} is uploaded to {s3_uri}")


def container_path(path: str, base_dir: Path) -> Path:
    """A path under /opt/ml inside the container, under `base_dir` here."""
    return base_dir / PurePosixPath(path).relative_to(CONTAINER_BASE)


def checkpoint_dir(request: Mapping[str, Any], base_dir: Path) -> Path | None:
    """Where SageMaker keeps the job's checkpoints (CheckpointConfig.LocalPath), or None without one."""
    config = request.get("CheckpointConfig")
    if config is None:
        return None
    return container_path(config.get("LocalPath", DEFAULT_CHECKPOINT_PATH), base_dir)


def lay_out_job(
    request: Mapping[str, Any], base_dir: Path, *, dataset_bucket: Path, source_archive: Path
) -> None:
    """Write /opt/ml (under `base_dir`) as SageMaker does for `request` before it starts the container.

    `dataset_bucket` stands in for the bucket the channels read: `s3://<bucket>/train/` is
    `dataset_bucket/train`. `sagemaker_submit_directory` names `source_archive` instead of its S3 object.
    """
    config_dir = base_dir / "input" / "config"
    config_dir.mkdir(parents=True)
    hyperparameters = {**request["HyperParameters"], "sagemaker_submit_directory": str(source_archive)}
    (config_dir / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config_dir / "inputdataconfig.json").write_text(json.dumps(_input_data_config(request)))
    (config_dir / "resourceconfig.json").write_text(json.dumps(_resource_config(request["ResourceConfig"])))
    for channel in request["InputDataConfig"]:
        source = channel["DataSource"]["S3DataSource"]
        if source["S3DataType"] != "S3Prefix":
            raise NotImplementedError(f"{channel['ChannelName']}: only S3Prefix channels are laid out")
        prefix = source["S3Uri"].removeprefix("s3://").partition("/")[2]
        shutil.copytree(dataset_bucket / prefix, base_dir / "input" / "data" / channel["ChannelName"])
    checkpoints = checkpoint_dir(request, base_dir)
    if checkpoints is not None:
        checkpoints.mkdir(parents=True)
    (base_dir / "model").mkdir()
    (base_dir / "output" / "data").mkdir(parents=True)


def _input_data_config(request: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """inputdataconfig.json: one entry per channel, with the job's input mode where the channel has none."""
    default_mode = request["AlgorithmSpecification"]["TrainingInputMode"]
    config = {}
    for channel in request["InputDataConfig"]:
        entry = {
            "TrainingInputMode": channel.get("InputMode", default_mode),
            "S3DistributionType": channel["DataSource"]["S3DataSource"]["S3DataDistributionType"],
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if "ContentType" in channel:
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def _resource_config(resources: Mapping[str, Any]) -> dict[str, Any]:
    """resourceconfig.json for the request's instances: hosts algo-1..algo-N in one instance group."""
    hosts = [f"algo-{number}" for number in range(1, resources["InstanceCount"] + 1)]
    group = "homogeneousCluster"
    return {
        "current_host": hosts[0],
        "current_instance_type": resources["InstanceType"],
        "current_group_name": group,
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": group, "instance_type": resources["InstanceType"], "hosts": hosts}
        ],
        "network_interface_name": "eth0",
    }


@dataclass(frozen=True)
class ToolkitRun:
    """One finished `train`: its /opt/ml, exit status and log (stdout and stderr, as CloudWatch gets them)."""

    base_dir: Path
    returncode: int
    log: str

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def output_dir(self) -> Path:
        return self.base_dir / "output"


def run_toolkit(base_dir: Path, work_dir: Path, *, timeout_seconds: float) -> ToolkitRun:
    """Start the toolkit's `train` on the /opt/ml laid out in `base_dir`, as the DLC's entry point does.

    pip is cut off from every package source: installing the source's requirements.txt must find them all
    installed, as on a job without internet access. A run past the timeout is killed with its children.
    """
    train = check_toolkit()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith(("SM_", "SAGEMAKER_"))
    }
    env.update(
        {
            "SAGEMAKER_BASE_DIR": str(base_dir),
            "SAGEMAKER_TRAINING_MODULE": PYTORCH_TRAINING_MODULE,
            # Skips the toolkit's wait (up to 15 minutes) for the hosts' DNS names, algo-1 here.
            "SM_STUDIO_LOCAL_MODE": "true",
            "PATH": f"{train.parent}{os.pathsep}{env.get('PATH', '')}",
            **pip_cut_off_env(work_dir / "no-packages"),
        }
    )
    process = subprocess.Popen(
        [str(train)],
        cwd=work_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        log, _ = process.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        log, _ = process.communicate()
        raise AssertionError(
            f"the training toolkit ran past {timeout_seconds:.0f} s; its log ends:\n{log[-4000:]}"
        ) from None
    (work_dir / "train.log").write_text(log)  # kept for a look after a failed test
    return ToolkitRun(base_dir=base_dir, returncode=process.returncode, log=log)
