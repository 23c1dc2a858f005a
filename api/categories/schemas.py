"""Request and response schemas for categories and their attribute definitions."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

from catalog.field_types import AttributeName, Scalar
from db.models import AttributeType

Slug = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$",
                           description="Lowercase letters, digits and hyphens; one segment of the path.")]
CategoryName = Annotated[str, Meta(min_length=1, max_length=200)]
AllowedValues = Annotated[list[Scalar], Meta(max_length=500)]


class CategoryCreate(Struct, forbid_unknown_fields=True):
    slug: Slug
    name: CategoryName
    parent_id: int | None = None


class CategoryUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields left out keep their value; `parent_id: null` moves the category to the top level."""

    slug: Slug | UnsetType = UNSET
    name: CategoryName | UnsetType = UNSET
    parent_id: int | UnsetType | None = UNSET


class CategoryRead(Struct, omit_defaults=True):
    id: int
    parent_id: int | None
    slug: str
    name: str
    path: str
    depth: int
    product_count: int | None = None
    """Products in this category and all its descendants; only when asked for (`with_counts=true`)."""


class CategoryNode(CategoryRead, kw_only=True):
    children: list[CategoryNode]


class AttributeDefinition(Struct, forbid_unknown_fields=True):
    name: AttributeName
    type: AttributeType = AttributeType.STRING
    allowed_values: AllowedValues | None = None
    required: bool = False
    facetable: bool = True


AttributeDefinitions = Annotated[list[AttributeDefinition], Meta(max_length=200)]
