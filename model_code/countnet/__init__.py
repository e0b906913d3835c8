"""Counting items in bin photos: data, model, training, evaluation and serving building blocks.

Importing the package itself pulls in nothing heavy, so the CDK app can read `metric_lines`.
"""
