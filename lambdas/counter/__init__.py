"""The counting Lambda: S3 upload notifications in, counted and reconciled inventory records out."""
