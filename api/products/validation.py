"""Product field rules that need catalog reference data (categories and their attribute definitions).

The reference data is small and loaded once per transaction, so validating a 10,000-item bulk import
costs two queries, not two per item.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import InvalidInput
from catalog.field_types import MAX_PRICE
from db import quality
from db.models import Category, CategoryAttribute

_EXPECTED_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list,),
}


@dataclass(frozen=True)
class Reference:
    """Category paths, attribute definitions per category, and the quality rules."""

    paths: dict[int, str]
    ids_by_path: dict[str, int]
    definitions: dict[int, list[CategoryAttribute]]
    rules: quality.RuleSet

    def check_category(self, category_id: int | None) -> None:
        if category_id is not None and category_id not in self.paths:
            raise InvalidInput(
                "The category does not exist.",
                {"fields": {"category_id": f"no category {category_id}"}},
                code="CATEGORY_NOT_FOUND",
            )

    def definitions_for(self, category_id: int) -> list[CategoryAttribute]:
        """The category's own attribute definitions and those inherited from its ancestors."""
        parts = self.paths[category_id].split("/")
        ancestors = ("/".join(parts[: i + 1]) for i in range(len(parts)))
        return [d for path in ancestors for d in self.definitions.get(self.ids_by_path.get(path, -1), [])]

    def check_attributes(self, category_id: int | None, attributes: dict[str, Any]) -> None:
        if category_id is None or not attributes:
            return
        problems = {
            f"attributes.{d.name}": problem
            for d in self.definitions_for(category_id)
            if d.name in attributes and (problem := attribute_problem(d, attributes[d.name]))
        }
        if problems:
            raise InvalidInput(
                "Some attributes do not match their category's definitions.",
                {"fields": problems},
                code="INVALID_ATTRIBUTES",
            )


async def reference(session: AsyncSession) -> Reference:
    """The reference data, loaded on first use in this transaction."""
    cached = session.info.get("catalog_reference")
    if isinstance(cached, Reference):
        return cached
    categories = (await session.execute(select(Category.id, Category.path))).all()  # type: ignore[call-overload]
    definitions: dict[int, list[CategoryAttribute]] = {}
    for definition in (await session.execute(select(CategoryAttribute))).scalars():
        definitions.setdefault(definition.category_id, []).append(definition)
    loaded = Reference(
        paths={row.id: row.path for row in categories},
        ids_by_path={row.path: row.id for row in categories},
        definitions=definitions,
        rules=await session.run_sync(quality.load_rules),
    )
    session.info["catalog_reference"] = loaded
    return loaded


def check_price(price: Decimal) -> None:
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise InvalidInput("Price must be between 0 and 9999999999.99.", {"fields": {"price": str(price)}})
    if price.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput("Price has more than 2 decimal places.", {"fields": {"price": "at most 2 decimals"}})


def attribute_problem(definition: CategoryAttribute, value: Any) -> str | None:
    if isinstance(value, bool) and definition.type == "number":
        return "expected a number"
    if not isinstance(value, _EXPECTED_TYPES[definition.type]):
        return f"expected a {definition.type}"
    allowed = definition.allowed_values
    if allowed:
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in allowed]
        if bad:
            return f"not allowed: {bad}; allowed values: {allowed}"
    return None


def check_changes(ref: Reference, changes: dict[str, Any], category_id: int | None, attributes: dict[str, Any]) -> None:
    """Validate the fields being written; `category_id`/`attributes` are the values after the change."""
    if "price" in changes:
        check_price(changes["price"])
    if "category_id" in changes:
        ref.check_category(category_id)
    if "attributes" in changes or "category_id" in changes:
        ref.check_attributes(category_id, attributes)
