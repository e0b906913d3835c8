"""PyTorch Deep Learning Container images, looked up in the SageMaker SDK's own registry at synth time.

The lookup reads JSON files shipped inside the `sagemaker` package: no network, no credentials.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from stacks.settings import Settings, SettingsError

# The 2.x SDK announces its deprecation and its config search on import; neither concerns synth.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)

from sagemaker import image_uris  # noqa: E402  (after the two quieting lines above)

# Serverless endpoints run on CPU, so they need the CPU build of the inference image.
SERVERLESS_IMAGE_INSTANCE_TYPE = "ml.m5.xlarge"
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
    try:
        uri = image_uris.retrieve(
            framework="pytorch",
            region=settings.region,
            version=settings.training.framework_version,
            py_version=settings.training.py_version,
            instance_type=instance_type,
            image_scope=scope,
        )
    except ValueError as error:
        raise SettingsError(
            f"binventory.training.framework_version / py_version / region: the SageMaker SDK has no PyTorch "
            f"{scope} image for version {settings.training.framework_version}, "
            f"{settings.training.py_version}, {instance_type} in {settings.region} ({error})."
        ) from error
    return ContainerImage(uri)


def training_image(settings: Settings) -> ContainerImage:
    """The GPU (or CPU) training image matching the training instance type."""
    return _retrieve(settings, scope="training", instance_type=settings.training.instance_type)


def inference_image(settings: Settings) -> ContainerImage:
    """The serving image: CPU for serverless endpoints, else the build matching the endpoint instance."""
    endpoint = settings.endpoint
    instance_type = SERVERLESS_IMAGE_INSTANCE_TYPE if endpoint.serverless else endpoint.instance_type
    return _retrieve(settings, scope="inference", instance_type=instance_type)
