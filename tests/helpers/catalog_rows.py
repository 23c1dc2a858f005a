"""`CatalogRows`: catalog rows written straight to PostgreSQL, bypassing the API (the triggers still run)."""

from __future__ import annotations

import uuid
from typing import Any


class CatalogRows:
    """Writes catalog rows straight to PostgreSQL (the triggers queue the outbox changes)."""

    def __init__(self, dsn: str) -> None:
        import psycopg

        self.conn = psycopg.connect(dsn, autocommit=True)

    def product(self, **fields: Any) -> int:
        from psycopg.types.json import Jsonb

        token = uuid.uuid4().hex[:12]
        row = {
            "sku": f"SKU-{token}",
            "name": f"Product {token}",
            "price": "19.99",
            "currency": "USD",
            "status": "active",
            **fields,
        }
        for key in ("attributes", "images"):
            if key in row:
                row[key] = Jsonb(row[key])
        columns = ", ".join(row)
        values = ", ".join(f"%({k})s" for k in row)
        sql = f"INSERT INTO products ({columns}) VALUES ({values}) RETURNING id"
        found = self.conn.execute(sql, row).fetchone()
        assert found is not None
        return int(found[0])

    def update(self, product_id: int, **fields: Any) -> None:
        assignments = ", ".join(f"{k} = %({k})s" for k in fields)
        sql = f"UPDATE products SET {assignments} WHERE id = %(id)s"
        self.conn.execute(sql, {**fields, "id": product_id})

    def delete(self, product_id: int) -> None:
        self.conn.execute("DELETE FROM products WHERE id = %s", (product_id,))

    def category(self, path: str) -> int:
        """The category at `path` ("a/b"), creating it and its parents as needed."""
        parent: int | None = None
        parts = path.split("/")
        for depth in range(len(parts)):
            sub = "/".join(parts[: depth + 1])
            found = self.conn.execute(
                "INSERT INTO categories (parent_id, slug, name, path, depth) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (path) DO UPDATE SET depth = excluded.depth RETURNING id",
                (parent, parts[depth], parts[depth].replace("-", " ").title(), sub, depth),
            ).fetchone()
            assert found is not None
            parent = int(found[0])
        assert parent is not None
        return parent

    def stock(self, product_id: int, on_hand: int, reserved: int = 0, warehouse: str = "MAIN") -> None:
        found = self.conn.execute(
            "INSERT INTO warehouses (code, name) VALUES (%s, %s) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name RETURNING id",
            (warehouse, warehouse.title()),
        ).fetchone()
        assert found is not None
        self.conn.execute(
            "INSERT INTO inventory (product_id, warehouse_id, on_hand, reserved) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (product_id, warehouse_id) DO UPDATE SET on_hand = excluded.on_hand, "
            "reserved = excluded.reserved",
            (product_id, found[0], on_hand, reserved),
        )

    def version(self, product_id: int) -> int | None:
        found = self.conn.execute("SELECT version FROM products WHERE id = %s", (product_id,)).fetchone()
        return int(found[0]) if found else None

    def scalar(self, sql: str, params: Any = None) -> Any:
        found = self.conn.execute(sql, params).fetchone()
        return found[0] if found else None
