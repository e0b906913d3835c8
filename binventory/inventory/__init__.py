"""`binventory inventory ...`: load expected quantities, and query the counted inventory."""

from binventory.inventory.commands import inventory_group

__all__ = ["inventory_group"]
