"""Inventory: warehouses and per-warehouse stock of each product (available = on_hand - reserved)."""
