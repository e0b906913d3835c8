"""PyTorch Deep Learning Container images: the SageMaker SDK's registry, pinned to AWS's full image tags.

The lookup reads JSON files shipped inside the `sagemaker` package: no network, no credentials. The SDK
names only floating tags (`2.6-gpu-py312`, `2.6.0-gpu-py312`) that AWS moves to newer builds, and a
published model package records its image URI: the pin below makes it name one CUDA and OS build.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from contracts.deployment_settings import Settings, SettingsError

# The 2.x SDK announces its deprecation and its config search on import; neither concerns synth.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)

from sagemaker import image_uris  # noqa: E402  (after the two quieting lines above)

# Serverless endpoints run on CPU, so they need the CPU build of the inference image.
SERVERLESS_IMAGE_INSTANCE_TYPE = "ml.m5.xlarge"
# The rest of each full tag, after `<version>-<processor>-<python>`, as the DLC release notes publish it
# (github.com/aws/deep-learning-containers, docs/releasenotes/pytorch/, the 2.6 SageMaker notes).
# AWS re-pushes a full tag only with security patches of the same framework, CUDA and OS; the SDK's
# registry cannot return these tags (it refuses a container_version for PyTorch).
PINNED_BUILDS = {
    ("training", "2.6.0", "gpu", "py312"): "cu126-ubuntu22.04-sagemaker",
    ("training", "2.6.0", "cpu", "py312"): "ubuntu22.04-sagemaker",
    ("inference", "2.6.0", "gpu", "py312"): "cu124-ubuntu22.04-sagemaker",
    ("inference", "2.6.0", "cpu", "py312"): "ubuntu22.04-sagemaker",
}
_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/(?P<repo>[^:]+):"
)


@dataclass(frozen=True)
class ContainerImage:
    """One DLC image URI and the ECR repository a role must be allowed to pull it from."""

    uri: str

    def repository_arn(self, partition: str) -> str:
        match = _ECR_URI.match(self.uri)
        if match is None:
            raise ValueError(f"not an ECR image URI: {self.uri}")
        return f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"


def _retrieve(settings: Settings, *, scope: str, instance_type: str) -> ContainerImage:
    training = settings.training
    # `2.6` -> `2.6.0`: the full version, so that an SDK upgrade moving the alias cannot change the image.
    aliases = image_uris.config_for_framework("pytorch").get(scope, {}).get("version_aliases", {})
    version = aliases.get(training.framework_version, training.framework_version)
    try:
        uri = image_uris.retrieve(
            framework="pytorch",
            region=settings.region,
            version=version,
            py_version=training.py_version,
            instance_type=instance_type,
            image_scope=scope,
        )
    except ValueError as error:
        raise SettingsError(
            f"binventory.training.framework_version / py_version / region: the SageMaker SDK has no PyTorch "
            f"{scope} image for version {training.framework_version}, "
            f"{training.py_version}, {instance_type} in {settings.region} ({error})."
        ) from error
    processor = uri.rsplit(":", 1)[1].split("-")[1]
    build = PINNED_BUILDS.get((scope, version, processor, training.py_version))
    if build is None:
        pinned = sorted({pinned_version for _, pinned_version, _, _ in PINNED_BUILDS})
        raise SettingsError(
            f"binventory.training.framework_version: {training.framework_version} ({version}) has no "
            f"pinned {processor} {scope} image build for {training.py_version}; pinned: {', '.join(pinned)}. "
            "To use another, add its full tag from the DLC release notes to PINNED_BUILDS in "
            "stacks/training_pipeline/container_images.py."
        )
    return ContainerImage(f"{uri}-{build}")


def training_image(settings: Settings) -> ContainerImage:
    """The GPU (or CPU) training image matching the training instance type."""
    return _retrieve(settings, scope="training", instance_type=settings.training.instance_type)


def inference_image(settings: Settings) -> ContainerImage:
    """The serving image: CPU for serverless endpoints, else the build matching the endpoint instance."""
    endpoint = settings.endpoint
    instance_type = SERVERLESS_IMAGE_INSTANCE_TYPE if endpoint.serverless else endpoint.instance_type
    return _retrieve(settings, scope="inference", instance_type=instance_type)


def profiler_rules_image(settings: Settings) -> ContainerImage:
    """SageMaker Debugger's rule evaluator image in the stage's region (the SDK's registry, offline)."""
    return ContainerImage(image_uris.retrieve("debugger", region=settings.region))
