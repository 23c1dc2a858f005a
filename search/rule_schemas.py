"""The merchandising rules as the API reads and writes them (`/search/rules`): what a rule may say (`When`,
`Pin`, `Boost`, the filters) and the shapes it is created, updated and read in. How rules apply: `search.rules`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from catalog.field_types import Sku

ATTRIBUTE_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
FilterValue = str | bool | list[str]
RuleFilter = Annotated[dict[str, FilterValue], Meta(max_length=20)]
"""`brand`, `category` or `attr.<name>` -> a value or a list of them (any of them); `in_stock` -> true/false."""


class When(Struct, forbid_unknown_fields=True):
    query: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    match: Literal["exact", "contains"] = "exact"
    """exact: the shopper's query is the rule's; contains: the rule's words appear in it, in order."""
    category: Annotated[str, Meta(min_length=1, max_length=1024)] | None = None
    """A category path: the rule fires in it and below it."""


class Pin(Struct, forbid_unknown_fields=True):
    sku: Sku
    position: Annotated[int, Meta(ge=1, le=100)]


class Boost(Struct, forbid_unknown_fields=True):
    filter: RuleFilter
    weight: Annotated[float, Meta(gt=0, le=1000)]
    """Multiplies the relevance score of the products the filter matches (below 1 buries them)."""


class RuleCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    when: When = msgspec.field(default_factory=When)
    pin: Annotated[list[Pin], Meta(max_length=50)] = []
    hide: Annotated[list[Sku], Meta(max_length=500)] = []
    boost: Annotated[list[Boost], Meta(max_length=20)] = []
    filter: RuleFilter = {}
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    enabled: bool = True


class RuleUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    when: When | UnsetType = UNSET
    pin: Annotated[list[Pin], Meta(max_length=50)] | UnsetType = UNSET
    hide: Annotated[list[Sku], Meta(max_length=500)] | UnsetType = UNSET
    boost: Annotated[list[Boost], Meta(max_length=20)] | UnsetType = UNSET
    filter: RuleFilter | UnsetType = UNSET
    starts_at: datetime | UnsetType | None = UNSET
    ends_at: datetime | UnsetType | None = UNSET
    enabled: bool | UnsetType = UNSET


class RuleRead(Struct):
    id: int
    name: str
    when: When
    pin: list[Pin]
    hide: list[str]
    boost: list[Boost]
    filter: dict[str, FilterValue]
    starts_at: datetime | None
    ends_at: datetime | None
    enabled: bool
    in_force: bool
    """Enabled, and now within starts_at .. ends_at."""
    created_at: datetime
    updated_at: datetime
    version: int


RULE_FIELDS: Final = ("name", "when", "pin", "hide", "boost", "filter", "starts_at", "ends_at", "enabled")
