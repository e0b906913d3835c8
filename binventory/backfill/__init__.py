"""Reconcile images already in S3 in bulk: one Batch Transform job, then the Lambda's own recording code."""
