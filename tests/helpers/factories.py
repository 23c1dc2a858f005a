"""Small builders for test data, so tests state only what matters to them."""

from __future__ import annotations

import uuid
from typing import Any


def product_payload(**overrides: Any) -> dict[str, Any]:
    """A valid ProductCreate body with a unique SKU; override any field."""
    body: dict[str, Any] = {
        "sku": f"T-{uuid.uuid4().hex[:12]}",
        "name": "Acme Kettle 1.7 L",
        "price": 39.99,
        "description": "A stainless steel kettle that boils 1.7 litres quickly and switches off by itself.",
        "brand": "Acme",
        "images": ["https://img.example.com/kettle.jpg"],
        "attributes": {"color": "silver", "capacity_l": 1.7},
    }
    body.update(overrides)
    return body
