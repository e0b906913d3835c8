"""The counting Lambda's rules as plain functions: no AWS calls, no Lambda objects."""
