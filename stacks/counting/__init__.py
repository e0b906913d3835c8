"""The counting pipeline: ingest queue, counting Lambda, event bus and SageMaker endpoint."""
