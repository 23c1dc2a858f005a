"""Search documents built from the CURRENT database state, one SQL query per batch of products.

Never from an event payload: whatever order changes are replayed in, a document is the product as
it is now, stamped with its version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row

from catalog import index_contract as doc
from db.media import search_images

Document = dict[str, Any]

_SELECT = """
SELECT p.id, p.sku, p.name, p.description, p.brand, p.status, p.price, p.currency, p.attributes,
       p.images, p.uploaded_images, p.completeness, p.missing_fields, p.created_at, p.updated_at, p.version,
       p.group_id, g.code AS group_code, g.name AS group_name,
       p.category_id, c.path AS category_path, anc.names AS category_names,
       coalesce(stock.available, 0) AS available
FROM products p
LEFT JOIN categories c ON c.id = p.category_id
LEFT JOIN product_groups g ON g.id = p.group_id
LEFT JOIN LATERAL (
    SELECT array_agg(a.name ORDER BY level) AS names
    FROM generate_series(1, cardinality(string_to_array(c.path, '/'))) AS level
    JOIN categories a ON a.path = array_to_string((string_to_array(c.path, '/'))[1:level], '/')
) anc ON c.id IS NOT NULL
LEFT JOIN LATERAL (
    SELECT sum(i.on_hand - i.reserved)::bigint AS available FROM inventory i WHERE i.product_id = p.id
) stock ON true
"""
_BY_IDS = _SELECT + "WHERE p.id = ANY(%(ids)s)"
_PAGE = _SELECT + "WHERE p.id > %(after)s ORDER BY p.id LIMIT %(limit)s"


def build_documents(conn: Connection[Any], product_ids: Sequence[int]) -> dict[int, Document]:
    """Documents for the given products that still exist, keyed by product id (one query)."""
    if not product_ids:
        return {}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_BY_IDS, {"ids": list(product_ids)})
        return {row["id"]: to_document(row) for row in cur}


def iter_document_pages(conn: Connection[Any], page_size: int, after_id: int = 0) -> Iterator[list[Document]]:
    """Every product's document in id order, one keyset page at a time (memory stays one page)."""
    while True:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_PAGE, {"after": after_id, "limit": page_size})
            page = [to_document(row) for row in cur]
        if not page:
            return
        yield page
        after_id = page[-1][doc.ID]


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def attribute_fields(attributes: dict[str, Any]) -> dict[str, Any]:
    """`attr_pairs`, `attr_keys`, `attr_numbers` and `attr_text` for the product's free key/value attributes."""
    pairs: list[str] = []
    words: list[str] = []
    numbers: dict[str, float] = {}
    for key in sorted(attributes):
        value = attributes[key]
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None or isinstance(item, dict | list):
                continue
            pairs.append(f"{key}{doc.ATTR_PAIR_SEPARATOR}{_attribute_text(item)}")
            if not isinstance(item, bool):  # "true"/"false" say nothing a shopper would type
                words.append(_attribute_text(item))
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            numbers[key] = float(value)
    return {doc.ATTR_PAIRS: pairs, doc.ATTR_KEYS: sorted(attributes), doc.ATTR_NUMBERS: numbers, doc.ATTR_TEXT: words}


def group_key(product_id: int, group_id: int | None) -> str:
    """What search collapses on: a group's variants share one key, a product of its own has its own."""
    return f"g{group_id}" if group_id is not None else f"p{product_id}"


def _iso(value: datetime) -> str:
    return value.isoformat()


def to_document(row: dict[str, Any]) -> Document:
    """One products row (joined with category and stock) -> its search document."""
    available = int(row["available"])
    brand = row["brand"]
    name = row["name"]
    suggestions = [name, brand] if brand else [name]
    images = search_images(row["uploaded_images"], row["images"])
    document: Document = {
        doc.ID: row["id"],
        doc.SKU: row["sku"],
        doc.NAME: name,
        doc.BRAND: brand,
        doc.DESCRIPTION: row["description"],
        doc.AUTOCOMPLETE: suggestions,
        doc.SPELL: suggestions,
        doc.CATEGORY_ID: row["category_id"],
        doc.CATEGORY_PATH: doc.category_levels(row["category_path"]),
        doc.CATEGORY_NAMES: list(row["category_names"] or []),
        doc.STATUS: row["status"],
        doc.PRICE: float(row["price"]),
        doc.CURRENCY: row["currency"].strip(),
        doc.AVAILABLE: available,
        doc.IN_STOCK: available > 0,
        doc.ATTRIBUTES: row["attributes"],
        doc.IMAGES: images,
        doc.IMAGE_COUNT: len(images),
        doc.COMPLETENESS: row["completeness"],
        doc.MISSING_FIELDS: list(row["missing_fields"]),
        doc.CREATED_AT: _iso(row["created_at"]),
        doc.UPDATED_AT: _iso(row["updated_at"]),
        doc.VERSION: row["version"],
        doc.GROUP_KEY: group_key(row["id"], row["group_id"]),
    }
    if row["group_id"] is not None:
        document |= {doc.GROUP_ID: row["group_id"], doc.GROUP_CODE: row["group_code"],
                     doc.GROUP_NAME: row["group_name"]}
    document.update(attribute_fields(row["attributes"]))
    return document
