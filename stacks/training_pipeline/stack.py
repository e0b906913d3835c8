"""The training stack: SageMaker role, training source, state machine and model package group."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from contracts import inventory_schema, stack_outputs
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

# What each job writes: training its model output and spot checkpoints; batch transform its answers.
TRAINING_WRITE_PREFIXES = (stack_outputs.ARTIFACTS_MODELS_PREFIX, stack_outputs.ARTIFACTS_CHECKPOINTS_PREFIX)
TRANSFORM_WRITE_PREFIXES = (stack_outputs.ARTIFACTS_TRANSFORM_PREFIX,)
# Where the photos a backfill sends its transform job are (the ingest bucket's notified prefixes).
TRANSFORM_READ_PREFIXES = inventory_schema.NOTIFIED_PREFIXES


class TrainingStack(cdk.Stack):
    """Trains, tunes and publishes CountNet models; owns SageMaker's roles, one per job."""

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
        rules_image = container_images.profiler_rules_image(settings)
        training_role = SageMakerExecutionRole(
            self,
            "TrainingRole",
            # The job's profiler rules run as processing jobs with its role, in Debugger's rules image.
            images=(training_image, rules_image),
            jobs=("TrainingJobs", "ProcessingJobs"),
            description="Binventory training and tuning jobs: read the data, write checkpoints and models",
        )
        self.training_role = training_role.role
        self.serving_role = SageMakerExecutionRole(
            self,
            "ServingRole",
            images=(self.inference_image,),
            jobs=("Endpoints",),
            description="Binventory endpoint model: reads model archives only",
        ).role
        self.transform_role = SageMakerExecutionRole(
            self,
            "TransformRole",
            images=(self.inference_image,),
            jobs=("TransformJobs",),
            description="Binventory batch transform (count backfill): read its photos, write its answers",
        ).role
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
                role_arn=self.training_role.role_arn,
                image_uri=training_image.uri,
                source_uri=source.s3_uri,
                region=settings.region,
                dataset_bucket=buckets.dataset.bucket_name,
                artifacts_bucket=buckets.artifacts.bucket_name,
                stage=settings.stage,
                rules_image_uri=rules_image.uri,
            ),
            inference_image_uri=self.inference_image.uri,
            notifications=notifications.topic,
        )

        self._grant_training(buckets, source)
        self._grant_serving(settings, buckets)
        self._grant_transform(buckets)
        training_role.grant_pass_to_sagemaker(self.pipeline.state_machine)
        # Before the counting stack reads it: created holding `none` where no model was ever recorded.
        ServedModelRecord(self, "ServedModel", stage=settings.stage)

        for output_id, value in (
            (stack_outputs.TRAINING_STATE_MACHINE_ARN, self.pipeline.state_machine.state_machine_arn),
            (stack_outputs.MODEL_PACKAGE_GROUP_NAME, self.pipeline.model_package_group_name),
            (stack_outputs.TRAINING_ROLE_ARN, self.training_role.role_arn),
            (stack_outputs.SERVING_ROLE_ARN, self.serving_role.role_arn),
            (stack_outputs.TRANSFORM_ROLE_ARN, self.transform_role.role_arn),
            (stack_outputs.INFERENCE_IMAGE_URI, self.inference_image.uri),
        ):
            cdk.CfnOutput(self, output_id, value=value)

    def _grant_training(self, buckets: StorageBuckets, source: TrainingSourceBundle) -> None:
        """Training and tuning: read the source, the data and the public ABID images; write checkpoints and
        models (and read back checkpoints, to resume an interrupted spot job)."""
        role = self.training_role
        source.grant_read(role)
        buckets.grant_read_training_data(
            role,
            reason="Training channels download every object of the dataset bucket; `binventory data upload` "
            "and `binventory data manifest` name the objects at run time.",
        )
        PublicAbidDataset(self, "PublicAbid").grant_read(role)
        buckets.grant_read_artifacts(
            role,
            prefixes=(stack_outputs.ARTIFACTS_CHECKPOINTS_PREFIX, stack_outputs.ARTIFACTS_MODELS_PREFIX),
            reason="A resumed spot job downloads the checkpoints its earlier run wrote under "
            "checkpoints/<job>/, and the job's profiler rules read its profile under "
            "models/<job>/profiler-output/; both named at run time.",
        )
        buckets.grant_write_artifacts(
            role,
            prefixes=TRAINING_WRITE_PREFIXES,
            reason="SageMaker writes a job's model and checkpoints under keys it names per job; writes are "
            "limited to the models/ and checkpoints/ prefixes.",
        )

    def _grant_serving(self, settings: Settings, buckets: StorageBuckets) -> None:
        """Serving: read model archives, nothing else; write only SageMaker's own request capture, if on."""
        buckets.grant_read_artifacts(
            self.serving_role,
            prefixes=(stack_outputs.ARTIFACTS_MODELS_PREFIX,),
            reason="The endpoint loads the model.tar.gz a training job wrote under models/<job>/output/, "
            "named at run time; read-only.",
        )
        if settings.endpoint.data_capture:
            buckets.grant_write_artifacts(
                self.serving_role,
                prefixes=(stack_outputs.ARTIFACTS_DATA_CAPTURE_PREFIX,),
                reason="SageMaker itself writes captured requests under data-capture/<endpoint>/<variant>/ "
                "(the network-isolated container cannot reach S3); only with endpoint.data_capture.",
            )

    def _grant_transform(self, buckets: StorageBuckets) -> None:
        """Batch transform: read its model and its photos, read its manifest and write its answers."""
        role = self.transform_role
        buckets.grant_read_artifacts(
            role,
            prefixes=(stack_outputs.ARTIFACTS_MODELS_PREFIX, stack_outputs.ARTIFACTS_TRANSFORM_PREFIX),
            reason="A backfill's transform job loads the served model.tar.gz (models/<job>/output/) and the "
            "manifest `count backfill` wrote under transform/<job>/, both named at run time.",
        )
        buckets.grant_write_artifacts(
            role,
            prefixes=TRANSFORM_WRITE_PREFIXES,
            reason="A transform job writes one answer per photo under transform/<job>/output/, named at run "
            "time; writes are limited to the transform/ prefix.",
        )
        buckets.grant_read_photos(
            role,
            prefixes=TRANSFORM_READ_PREFIXES,
            reason="A backfill's transform job reads the bin photos it lists, under keys uploaders chose; "
            "limited to the incoming/ and bin-images/ prefixes.",
        )
