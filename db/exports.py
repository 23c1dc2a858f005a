"""Reading products for export (GET /products/export) and product feeds (GET /feeds/google-merchant.*), a page at
a time in id order (keyset), with the same filters as GET /products."""

from __future__ import annotations

from typing import Any

_FILTERS = """
  AND (%(status)s::text IS NULL OR p.status = %(status)s::text)
  AND (%(brand)s::text IS NULL OR lower(p.brand) = lower(%(brand)s::text))
  AND (%(sku)s::text IS NULL OR lower(p.sku) = lower(%(sku)s::text))
  AND (%(updated_since)s::timestamptz IS NULL OR p.updated_at >= %(updated_since)s::timestamptz)
  AND (%(category_path)s::text IS NULL OR p.category_id IN (
        SELECT id FROM categories WHERE path = %(category_path)s::text OR path LIKE %(category_path)s::text || '/%%'))
"""

PAGE_SQL = f"""
SELECT p.id, p.sku, p.name, p.description, p.brand, p.category_id, c.path, p.status, p.price, p.currency,
       p.attributes, p.images, p.uploaded_images, p.completeness, p.updated_at, p.version,
       coalesce(s.on_hand, 0), coalesce(s.reserved, 0), coalesce(s.by_warehouse, '{{}}'), p.group_id, g.code,
       p.inherited
FROM products p
LEFT JOIN categories c ON c.id = p.category_id
LEFT JOIN product_groups g ON g.id = p.group_id
LEFT JOIN LATERAL (
    SELECT sum(i.on_hand) AS on_hand, sum(i.reserved) AS reserved, jsonb_object_agg(w.code, i.on_hand) AS by_warehouse
    FROM inventory i JOIN warehouses w ON w.id = i.warehouse_id WHERE i.product_id = p.id
) s ON true
WHERE p.id > %(after)s {_FILTERS}
ORDER BY p.id
LIMIT %(limit)s
"""

ATTRIBUTE_NAMES_SQL = f"""
SELECT DISTINCT k FROM products p, jsonb_object_keys(p.attributes) AS k WHERE true {_FILTERS} ORDER BY k
"""
WAREHOUSE_CODES_SQL = "SELECT code FROM warehouses ORDER BY code"
CATEGORY_PATH_SQL = "SELECT path FROM categories WHERE id = %(id)s"

# Active products with stock available to sell, with the code of the group a variant belongs to.
FEED_SQL = """
SELECT p.id, p.sku, p.name, p.description, p.brand, p.price, p.currency, p.attributes, p.images, p.uploaded_images,
       g.code
FROM products p
LEFT JOIN product_groups g ON g.id = p.group_id
WHERE p.id > %(after)s AND p.status = 'active'
  AND (SELECT coalesce(sum(i.on_hand - i.reserved), 0) FROM inventory i WHERE i.product_id = p.id) > 0
ORDER BY p.id
LIMIT %(limit)s
"""

PAGE_SIZE = 1000


def filter_params(
    status: str | None, brand: str | None, sku: str | None, updated_since: Any, category_path: str | None
) -> dict[str, Any]:
    return {
        "status": status,
        "brand": brand,
        "sku": sku,
        "updated_since": updated_since,
        "category_path": category_path,
    }
