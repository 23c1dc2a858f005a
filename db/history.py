"""A product's audit trail and its price history with validity intervals (GET /products/{id}/history, /prices).

Stock rows are audited as entity `stock` with entity_id `<product>:<warehouse>` (and images, migration 0006, as
`image`, `<product>:<image>`); the range on entity_id lets audit_log_entity_idx serve those prefixes.
"""

from __future__ import annotations

HISTORY_SQL = """
SELECT a.id, a.at, a.entity, a.entity_id, a.action, a.changes, a.actor, u.email
FROM audit_log a LEFT JOIN users u ON u.id = a.actor
WHERE (a.entity = 'product' AND a.entity_id = %(product)s
       OR a.entity IN ('stock', 'image') AND a.entity_id >= %(prefix)s AND a.entity_id < %(prefix_end)s
          AND a.entity_id LIKE %(prefix_like)s)
  AND a.id < %(before)s
ORDER BY a.id DESC
LIMIT %(limit)s
"""

PRODUCT_EXISTS_SQL = "SELECT EXISTS (SELECT 1 FROM products WHERE id = %(id)s)"

# Each price is valid from its change until the next one (NULL: still valid).
PRICES_SQL = """
SELECT h.id, h.new_price, h.currency, h.changed_at AS valid_from,
       lead(h.changed_at) OVER (ORDER BY h.changed_at, h.id) AS valid_to, h.changed_by, u.email, h.sku
FROM price_history h LEFT JOIN users u ON u.id = h.changed_by
WHERE h.product_id = %(id)s
ORDER BY h.changed_at DESC, h.id DESC
"""


def history_params(product_id: int, before: int, limit: int) -> dict[str, object]:
    prefix = f"{product_id}:"
    return {
        "product": str(product_id),
        "prefix": prefix,
        "prefix_end": f"{product_id};",  # ';' follows ':' in every collation PostgreSQL ships
        "prefix_like": prefix + "%",
        "before": before,
        "limit": limit,
    }
