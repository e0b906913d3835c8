"""The training pipeline: SageMaker role, source bundle, container images and the state machine."""
