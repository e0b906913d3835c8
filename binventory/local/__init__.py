"""The whole pipeline on one machine: moto for AWS, a local model server for the endpoint."""
