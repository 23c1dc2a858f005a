"""What a product takes from its group (pure rules, shared by single writes, bulk upserts and group changes).

A variant inherits the group's name, brand, category, description and images wherever it has no value of its
own; the inherited fields are stored as copies and listed in `inherited`, so a later change to the group flows
down, while a field the variant sets for itself stays its own until it is set back to null. A variant must have
a value for each of the group's axes, and its axis values (`variant_key`) are unique within the group.
Here in db/ because the demo seed builds its variant rows with the same rules the API applies to a write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

INHERITABLE: Final = ("name", "brand", "category_id", "description", "images")
"""Product fields a variant takes from its group when it has none of its own."""


@dataclass(frozen=True)
class GroupFacts:
    """What a variant needs of its group."""

    id: int
    code: str
    name: str
    brand: str | None
    category_id: int | None
    description: str
    images: list[str]
    axes: list[str]

    @classmethod
    def of(cls, group: Any) -> GroupFacts:
        """From a ProductGroup."""
        return cls(int(group.id), group.code, group.name, group.brand, group.category_id, group.description or "",
                   list(group.images or []), list(group.axes or []))

    def value(self, field: str) -> Any:
        return list(self.images) if field == "images" else getattr(self, field)


class MissingVariantAxis(ValueError):
    """A variant without a value for one of its group's axes (the API answers 400 MISSING_VARIANT_AXIS)."""

    code: Final = "MISSING_VARIANT_AXIS"

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _axis_text(value: Any) -> str:
    """One axis value as compared between variants: "Red", " red" and "RED" are the same color."""
    if isinstance(value, list):
        return ",".join(sorted(_axis_text(v) for v in value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split()).lower()


def variant_key(group: GroupFacts, attributes: Mapping[str, Any]) -> str | None:
    """The variant's axis values (None when the group has no axes); MissingVariantAxis naming any axis it lacks."""
    missing = [axis for axis in group.axes if _empty(attributes.get(axis))]
    if missing:
        raise MissingVariantAxis(
            f"A variant of group {group.code!r} needs a value for each of its axes ({', '.join(group.axes)}); "
            f"missing: {', '.join(missing)}. Add them to `attributes`.",
            {"fields": {f"attributes.{axis}": f"required by the axes of group {group.code!r}" for axis in missing},
             "group_id": group.id, "axes": group.axes},
        )
    if not group.axes:
        return None
    return json.dumps([_axis_text(attributes[axis]) for axis in group.axes], ensure_ascii=False)


def resolve(after: dict[str, Any], group: GroupFacts | None, inherited_before: Iterable[str],
            written: Iterable[str]) -> dict[str, Any]:
    """The product's fields once its group is applied: `after` (its fields after this write) with the inherited
    ones filled from the group, plus `group_id`, `inherited` and `variant_key`.

    `inherited_before`: the fields it inherited until now; `written`: the fields this write sets (set to a value,
    a field becomes the variant's own; set to null or empty, it is inherited again). Without a group, nothing is
    inherited any more and the copies stay as the product's own values.
    """
    resolved = dict(after)
    if group is None:
        return resolved | {"group_id": None, "inherited": [], "variant_key": None}
    kept, written_now = set(inherited_before), set(written)
    inherited: list[str] = []
    for field in INHERITABLE:
        takes_group = (field in kept and field not in written_now) or _empty(resolved.get(field))
        if takes_group:
            resolved[field] = group.value(field)
            inherited.append(field)
    return resolved | {"group_id": group.id, "inherited": inherited,
                       "variant_key": variant_key(group, resolved.get("attributes") or {})}


def variant_conflict(group_id: int | None) -> dict[str, Any]:
    """The details of a 409 for two variants with the same axis values in one group."""
    return {"group_id": group_id, "fields": {"attributes": "another variant of this group has the same axis values"}}
