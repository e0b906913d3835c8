"""Stack names and CloudFormation output ids shared by the stacks and the operator CLI."""

from __future__ import annotations

STACK_KINDS = ("storage", "training", "counting")

# storage
INGEST_BUCKET_NAME = "IngestBucketName"
DATASET_BUCKET_NAME = "DatasetBucketName"
ARTIFACTS_BUCKET_NAME = "ArtifactsBucketName"
INVENTORY_TABLE_NAME = "InventoryTableName"
BIN_STATE_TABLE_NAME = "BinStateTableName"
# training
TRAINING_STATE_MACHINE_ARN = "TrainingStateMachineArn"
MODEL_PACKAGE_GROUP_NAME = "ModelPackageGroupName"
# SageMaker's roles, one per job: training and tuning, the endpoint's model, batch transform (count backfill)
TRAINING_ROLE_ARN = "TrainingRoleArn"
SERVING_ROLE_ARN = "ServingRoleArn"
TRANSFORM_ROLE_ARN = "TransformRoleArn"
INFERENCE_IMAGE_URI = "InferenceImageUri"
# counting
ENDPOINT_NAME = "EndpointName"
INGEST_QUEUE_URL = "IngestQueueUrl"
DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
DEAD_LETTER_QUEUE_ARN = "DeadLetterQueueArn"  # what the operator policy lets `binventory status` read
COUNTER_FUNCTION_NAME = "CounterFunctionName"
EVENT_BUS_NAME = "EventBusName"
# counting: the review page and API, its sign-in, and the review Lambda
REVIEW_URL = "ReviewUrl"
REVIEW_USER_POOL_ID = "ReviewUserPoolId"
REVIEW_FUNCTION_NAME = "ReviewFunctionName"
# counting, only while a model is deployed: the SageMaker Model that batch transform backfills reuse
COUNTER_MODEL_NAME = "CounterModelName"
# counting, only while no model is deployed: the command that deploys one
ENDPOINT_DEPLOY_HINT = "EndpointDeployHint"

# The model package the endpoint serves, recorded where CloudFormation reads it at deploy time (an SSM
# parameter): `binventory model promote` and `rollback` write it, `cdk deploy -c model_package_arn=...` too,
# and the training stack creates it holding NO_SERVED_MODEL when it does not exist yet. A deploy without
# `-c model_package_arn` serves whatever it names, so a plain deploy never changes or drops the served model.
NO_SERVED_MODEL = "none"
# A published model package's CustomerMetadataProperties key naming who started its training run (the
# identity `binventory train start` ran as): `binventory model approve` refuses to let it approve the version.
PACKAGE_STARTED_BY = "started_by"
# The tag on every SageMaker job a stage starts (training, tuning and its trials, backfill transform):
# `binventory costs` counts only the jobs that carry its stage's.
STAGE_TAG = "binventory:stage"

# Bucket layouts shared with the CLI.
# Dataset bucket: one prefix per training channel; train.py reads SM_CHANNEL_TRAIN and SM_CHANNEL_VALIDATION.
DATASET_CHANNELS = ("train", "validation")
# Dataset bucket: one folder per manifest dataset, `manifests/<name>/`, holding `<channel>.manifest` for the
# train, validation and test channels (each lists images of the public bucket), `labels/<channel>.csv` (the
# labels channel), `summary.json` and `class_distribution.png` (contracts.manifest_layout has the names).
DATASET_MANIFESTS_PREFIX = "manifests/"

# The public ABID bucket (Registry of Open Data). Manifests point training channels at its images, and the
# SageMaker role may read these two prefixes of it and nothing else there. A training job reads S3 only in
# its own region, so manifest training runs in this region.
PUBLIC_DATASET_BUCKET = "aft-vbi-pds"
PUBLIC_DATASET_REGION = "us-east-1"
PUBLIC_IMAGES_PREFIX = "bin-images/"
PUBLIC_METADATA_PREFIX = "metadata/"
# Artifacts bucket: training output (model.tar.gz), spot checkpoints, batch transform output,
# endpoint data capture.
ARTIFACTS_MODELS_PREFIX = "models/"
ARTIFACTS_CHECKPOINTS_PREFIX = "checkpoints/"
ARTIFACTS_TRANSFORM_PREFIX = "transform/"
ARTIFACTS_DATA_CAPTURE_PREFIX = "data-capture/"


def stack_name(stage: str, kind: str) -> str:
    """`('dev', 'storage')` -> `binventory-dev-storage`."""
    if kind not in STACK_KINDS:
        raise ValueError(f"unknown stack kind {kind!r}; expected one of {STACK_KINDS}")
    return f"binventory-{stage}-{kind}"


def served_model_parameter(stage: str) -> str:
    """`dev` -> `/binventory/dev/counting/served-model-package`: the parameter naming the served package."""
    return f"/binventory/{stage}/counting/served-model-package"
