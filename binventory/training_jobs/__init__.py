"""Operator commands that start, watch and read the logs of training and tuning runs."""
