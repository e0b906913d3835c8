"""The training stack: SageMaker role, training source, state machine and model package group."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from contracts import stack_outputs
from contracts.deployment_settings import Settings
from stacks.monitoring.topic import NotificationTopic
from stacks.served_model import ServedModelRecord
from stacks.storage.buckets import StorageBuckets
from stacks.training_pipeline import container_images
from stacks.training_pipeline.execution_role import SageMakerExecutionRole
from stacks.training_pipeline.job_requests import TrainingJobTemplate
from stacks.training_pipeline.pipeline import TrainingPipeline
from stacks.training_pipeline.public_dataset import PublicAbidDataset
from stacks.training_pipeline.source_bundle import TrainingSourceBundle

# What SageMaker writes: training output, spot checkpoints, batch transform results, endpoint capture.
SAGEMAKER_WRITE_PREFIXES = (
    stack_outputs.ARTIFACTS_MODELS_PREFIX,
    stack_outputs.ARTIFACTS_CHECKPOINTS_PREFIX,
    stack_outputs.ARTIFACTS_TRANSFORM_PREFIX,
    stack_outputs.ARTIFACTS_DATA_CAPTURE_PREFIX,
)


class TrainingStack(cdk.Stack):
    """Trains, tunes and publishes CountNet models; owns the role SageMaker uses everywhere."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        buckets: StorageBuckets,
        env: cdk.Environment,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description="Binventory training: SageMaker training and tuning pipeline",
        )
        training_image = container_images.training_image(settings)
        self.inference_image = container_images.inference_image(settings)
        execution = SageMakerExecutionRole(
            self, "SageMakerRole", images=(training_image, self.inference_image)
        )
        self.sagemaker_role = execution.role
        source = TrainingSourceBundle(self, "TrainingSource")
        notifications = NotificationTopic(
            self,
            "Notifications",
            display_name=f"Binventory {settings.stage} training",
            email=settings.alarms.email,
        )
        self.pipeline = TrainingPipeline(
            self,
            "Pipeline",
            settings=settings,
            job_template=TrainingJobTemplate(
                settings=settings.training,
                role_arn=self.sagemaker_role.role_arn,
                image_uri=training_image.uri,
                source_uri=source.s3_uri,
                region=settings.region,
                dataset_bucket=buckets.dataset.bucket_name,
                artifacts_bucket=buckets.artifacts.bucket_name,
            ),
            inference_image_uri=self.inference_image.uri,
            notifications=notifications.topic,
        )

        role = self.sagemaker_role
        source.grant_read(role)
        buckets.grant_read_training_data(
            role,
            reason="Training channels download every object of the dataset bucket; `binventory data upload` "
            "and `binventory data manifest` name the objects at run time.",
        )
        PublicAbidDataset(self, "PublicAbid").grant_read(role)
        buckets.grant_read_artifacts(
            role,
            reason="Models, endpoints and transform jobs load model archives and checkpoints that SageMaker "
            "wrote under per-job keys it names at run time.",
        )
        buckets.grant_write_artifacts(
            role,
            prefixes=SAGEMAKER_WRITE_PREFIXES,
            reason="SageMaker writes job output under keys it names per job; writes are limited to the "
            "models/, checkpoints/, transform/ and data-capture/ prefixes.",
        )
        buckets.grant_read_photos(
            role,
            reason="Batch transform backfills (`binventory count backfill`) read bin photos already in the "
            "ingest bucket, under any key an uploader chose.",
        )
        execution.grant_pass_to_sagemaker(self.pipeline.state_machine)
        # Before the counting stack reads it: created holding `none` where no model was ever recorded.
        ServedModelRecord(self, "ServedModel", stage=settings.stage)

        for output_id, value in (
            (stack_outputs.TRAINING_STATE_MACHINE_ARN, self.pipeline.state_machine.state_machine_arn),
            (stack_outputs.MODEL_PACKAGE_GROUP_NAME, self.pipeline.model_package_group_name),
            (stack_outputs.SAGEMAKER_ROLE_ARN, self.sagemaker_role.role_arn),
            (stack_outputs.INFERENCE_IMAGE_URI, self.inference_image.uri),
        ):
            cdk.CfnOutput(self, output_id, value=value)
