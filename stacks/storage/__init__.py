"""Buckets and tables: the data Binventory keeps."""
