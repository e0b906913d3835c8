"""Binventory operator tools: the `binventory` CLI and the local pipeline."""
