"""SageMaker's own inference toolkit run on this machine: the serving venv and the `serve` launcher."""
