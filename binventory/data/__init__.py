"""Operator commands that fetch, prepare, upload and synthesise bin-image datasets."""
