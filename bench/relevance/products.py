"""The hand-written products of the relevance catalog (`products.jsonl`: phones, their cases, chargers, cables,
card readers, memory cards, ...; see README.md) and the electronics categories they live in, imported through the
real API (`POST /categories`, `POST /products/bulk`, `PUT /products/{id}/stock`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import TestClient

HERE = Path(__file__).resolve().parent
PRODUCTS_FILE = HERE / "products.jsonl"

# The electronics tree the hand-written products live in (the demo seed already has electronics/mobile with
# Smartphones and Headphones, electronics/computers, ...). Path -> display name.
CATEGORIES = {
    "electronics/mobile/cell-phone-cases": "Cell Phone Cases",
    "electronics/mobile/chargers": "Chargers",
    "electronics/mobile/car-chargers": "Car Chargers",
    "electronics/mobile/car-mounts": "Car Mounts",
    "electronics/mobile/cables": "Cables",
    "electronics/mobile/screen-protectors": "Screen Protectors",
    "electronics/mobile/power-banks": "Power Banks",
    "electronics/mobile/travel-adapters": "Travel Adapters",
    "electronics/mobile/portable-speakers": "Portable Speakers",
    "electronics/mobile/phone-grips": "Phone Grips",
    "electronics/mobile/vr-headsets": "VR Headsets",
    "electronics/computers/memory-card-readers": "Memory Card Readers",
    "electronics/computers/memory-cards": "Memory Cards",
    "electronics/computers/tablet-keyboards": "Tablet Keyboards",
}


def load_products(path: Path = PRODUCTS_FILE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        raise SystemExit(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()


def import_products(client: TestClient[Litestar], headers: dict[str, str], products: list[dict[str, Any]]) -> int:
    """The category tree, the products (one NDJSON bulk request) and their stock, through the API."""
    existing = {c["path"]: c["id"] for c in check(client.get("/categories", headers=headers), "GET /categories")}
    wanted = sorted({p["category"] for p in products}, key=lambda path: path.count("/"))
    for path in wanted:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            if sub in existing:
                continue
            if sub not in CATEGORIES:
                raise SystemExit(f"products.jsonl uses category {sub!r}: add its name to CATEGORIES in products.py")
            parent = existing.get("/".join(parts[:depth - 1])) if depth > 1 else None
            body = {"slug": parts[depth - 1], "name": CATEGORIES[sub], "parent_id": parent}
            created = check(client.post("/categories", json=body, headers=headers), f"POST /categories {sub}")
            existing[sub] = created["id"]
    items = []
    for p in products:
        item = {k: v for k, v in p.items() if k not in ("category", "stock")}
        item["category_id"] = existing[p["category"]]
        items.append(json.dumps(item))
    result = check(client.post("/products/bulk", content="\n".join(items).encode(),
                                headers={**headers, "content-type": "application/x-ndjson"}), "POST /products/bulk")
    errors = [i for i in result["items"] if i["status"] == "error"]
    if errors:
        raise SystemExit(f"POST /products/bulk refused {len(errors)} items, e.g. {errors[:3]}")
    ids = {i["sku"]: i["id"] for i in result["items"]}
    warehouse = check(client.get("/warehouses", headers=headers), "GET /warehouses")[0]["id"]
    for p in products:
        body = {"warehouse_id": warehouse, "on_hand": int(p.get("stock", 0)), "reserved": 0}
        check(client.put(f"/products/{ids[p['sku']]}/stock", json=body, headers=headers), f"stock of {p['sku']}")
    return len(products)
