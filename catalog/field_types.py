"""Field types (msgspec constraints) shared by the request and response schemas of several domains: the API's
and the search core's. Shared base: imports no layer."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from msgspec import Meta, Struct

Sku = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$",
        description="Stock keeping unit; unique, case-insensitive.",
    ),
]
ProductName = Annotated[str, Meta(min_length=1, max_length=300)]
Description = Annotated[str, Meta(max_length=20_000)]
Brand = Annotated[str, Meta(min_length=1, max_length=120)]
Price = Annotated[Decimal, Meta(description="0 to 9999999999.99, up to 2 decimal places.")]
MAX_PRICE = Decimal("9999999999.99")
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")]
ImageUrl = Annotated[str, Meta(pattern=r"^https?://[^\s]+$", max_length=2048)]
AttributeName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Scalar = str | int | float | bool
AttributeValue = Scalar | list[Scalar]
Attributes = Annotated[dict[AttributeName, AttributeValue], Meta(max_length=100)]
Images = Annotated[list[ImageUrl], Meta(max_length=50)]


class ErrorBody(Struct):
    """The body of every error response."""

    code: str
    message: str
    details: dict[str, Any]


class Page(Struct):
    """skip/limit pagination as the contract defines it."""

    skip: int
    limit: int
