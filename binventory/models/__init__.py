"""Operator commands that list published models and move the endpoint between them."""
