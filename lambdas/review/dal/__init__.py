"""The review Lambda's AWS access: the tables, presigned photo links and the event bus."""
