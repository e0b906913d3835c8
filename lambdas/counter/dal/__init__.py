"""The counting Lambda's data access: one small module per AWS service it talks to."""
