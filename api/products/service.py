"""Product reads and writes. Triggers record audit, price history and the outbox in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import Select, bindparam, func, or_, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.products import validation
from api.products.schemas import CategoryRef, ProductCreate, ProductRead, ProductUpdate, StockSummary
from catalog.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from db import quality, variants
from db.media import product_images, uploaded_urls
from db.models import Category, Inventory, Product, ProductGroup, ProductStatus
from db.variants import GroupFacts, MissingVariantAxis

EDITABLE_FIELDS = (
    "sku",
    "name",
    "price",
    "currency",
    "description",
    "brand",
    "category_id",
    "status",
    "attributes",
    "images",
    "group_id",
)
WRITTEN_FIELDS = (*EDITABLE_FIELDS, "inherited", "variant_key")
"""What a write may change: the editable fields, and what the product takes from its group."""


def _read_query() -> Select[Any]:
    """Product + category name/path + stock totals; LATERAL so only the selected products' stock is summed."""
    stock = (
        select(
            func.coalesce(func.sum(Inventory.on_hand), 0).label("on_hand"),
            func.coalesce(func.sum(Inventory.reserved), 0).label("reserved"),
        )
        .where(col(Inventory.product_id) == col(Product.id))
        .lateral("stock")
    )
    return (
        select(Product, col(Category.name), col(Category.path), stock.c.on_hand, stock.c.reserved)
        .outerjoin(Category, col(Category.id) == col(Product.category_id))
        .join(stock, true())
    )


# Built once: constructing the statement costs about a millisecond, more than the lookup it performs.
READ_QUERY = _read_query()
_BY_ID = READ_QUERY.where(col(Product.id) == bindparam("product_id"))


def to_read(
    product: Product, category_name: str | None, category_path: str | None, on_hand: int, reserved: int
) -> ProductRead:
    assert product.id is not None
    category = (
        CategoryRef(id=product.category_id, name=category_name or "", path=category_path or "")
        if product.category_id is not None
        else None
    )
    return ProductRead(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        brand=product.brand,
        category=category,
        status=ProductStatus(product.status),
        price=float(product.price),
        currency=product.currency.strip(),
        attributes=product.attributes,
        images=product_images(product.uploaded_images, product.images),
        stock=StockSummary(
            on_hand=int(on_hand),
            reserved=int(reserved),
            available=int(on_hand) - int(reserved),
            in_stock=int(on_hand) - int(reserved) > 0,
        ),
        completeness=product.completeness,
        missing_fields=list(product.missing_fields),
        created_at=product.created_at,
        updated_at=product.updated_at,
        version=product.version,
        group_id=product.group_id,
        inherited=list(product.inherited),
    )


def product_not_found(product_id: int) -> NotFound:
    return NotFound(f"Product {product_id} does not exist.", {"product_id": product_id}, code="PRODUCT_NOT_FOUND")


async def get_product(session: AsyncSession, product_id: int) -> ProductRead:
    row = (await session.execute(_BY_ID, {"product_id": product_id})).first()
    if row is None:
        raise product_not_found(product_id)
    return to_read(*row)


async def get_product_by_sku(session: AsyncSession, sku: str) -> ProductRead:
    row = (await session.execute(READ_QUERY.where(func.lower(Product.sku) == sku.lower()))).first()
    if row is None:
        raise NotFound(f"No product has SKU {sku!r}.", {"sku": sku}, code="PRODUCT_NOT_FOUND")
    return to_read(*row)


class ProductFilters(msgspec.Struct):
    status: ProductStatus | None = None
    category_id: int | None = None
    brand: str | None = None
    sku: str | None = None
    updated_since: datetime | None = None


async def list_products(
    session: AsyncSession, filters: ProductFilters, skip: int, limit: int
) -> tuple[list[ProductRead], int]:
    conditions: list[Any] = []
    if filters.status is not None:
        conditions.append(Product.status == filters.status.value)
    if filters.brand is not None:
        conditions.append(func.lower(Product.brand) == filters.brand.lower())
    if filters.sku is not None:
        conditions.append(func.lower(Product.sku) == filters.sku.lower())
    if filters.updated_since is not None:
        conditions.append(Product.updated_at >= filters.updated_since)
    if filters.category_id is not None:
        path = await _category_path(session, filters.category_id)
        subtree = select(col(Category.id)).where(or_(col(Category.path) == path, col(Category.path).like(path + "/%")))
        conditions.append(col(Product.category_id).in_(subtree))
    total = (await session.execute(select(func.count()).select_from(Product).where(*conditions))).scalar_one()
    query = READ_QUERY.where(*conditions).order_by(col(Product.id)).offset(skip).limit(limit)
    rows = (await session.execute(query)).all()
    return [to_read(*row) for row in rows], int(total)


async def _category_path(session: AsyncSession, category_id: int) -> str:
    path = (
        await session.execute(select(col(Category.path)).where(col(Category.id) == category_id))
    ).scalar_one_or_none()
    if path is None:
        raise InvalidInput(
            "The category does not exist.",
            {"fields": {"category_id": f"no category {category_id}"}},
            code="CATEGORY_NOT_FOUND",
        )
    return str(path)


async def apply_quality(session: AsyncSession, products: Sequence[Product]) -> None:
    """Store each product's completeness and exact missing fields."""
    rules = (await validation.reference(session)).rules
    for product in products:
        result = quality.evaluate(product, rules)
        if product.completeness != result.completeness:
            product.completeness = result.completeness
        if list(product.missing_fields) != result.missing_fields:
            product.missing_fields = result.missing_fields


async def latest_change(session: AsyncSession, *product_ids: int) -> int | None:
    """The outbox position of this transaction's last change to these products (for read-your-writes);
    migration 0005's (product_id, id) index answers it without walking the outbox."""
    if not product_ids:
        return None
    value = (
        await session.execute(
            text("SELECT max(id) FROM outbox WHERE product_id = ANY(:ids)"), {"ids": list(product_ids)}
        )
    ).scalar_one_or_none()
    return int(value) if value is not None else None


def write_conflict(exc: IntegrityError, sku: str, group_id: int | None = None) -> Exception:
    """A refused product write as the API's error: its SKU or its axis values already taken."""
    if "products_sku_lower_key" in str(exc.orig):
        return Conflict(
            f"SKU {sku!r} is already used by another product.", {"fields": {"sku": sku}}, code="SKU_ALREADY_EXISTS"
        )
    if "products_group_variant_key" in str(exc.orig):
        return Conflict(
            f"Another variant of group {group_id} has the same axis values as {sku!r}; give it different ones.",
            variants.variant_conflict(group_id), code="VARIANT_ALREADY_EXISTS",
        )
    return InvalidInput("The product violates a catalog constraint.", {"constraint": str(exc.orig).splitlines()[0]})


def group_not_found(group_id: int) -> InvalidInput:
    return InvalidInput(f"Product group {group_id} does not exist.", {"fields": {"group_id": f"no group {group_id}"}},
                        code="PRODUCT_GROUP_NOT_FOUND")


async def load_groups(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, GroupFacts]:
    """What the variants need of these groups, by id (unknown ids are left out)."""
    if not group_ids:
        return {}
    rows = (await session.execute(select(ProductGroup).where(col(ProductGroup.id).in_(set(group_ids))))).scalars()
    return {int(g.id): GroupFacts.of(g) for g in rows if g.id is not None}


async def group_facts(session: AsyncSession, group_id: int | None) -> GroupFacts | None:
    """The group a product names (None for none); 400 PRODUCT_GROUP_NOT_FOUND for an unknown one."""
    if group_id is None:
        return None
    found = (await load_groups(session, [group_id])).get(group_id)
    if found is None:
        raise group_not_found(group_id)
    return found


def require_name(fields: dict[str, Any]) -> None:
    """A product without a group needs a name of its own (a variant has its group's)."""
    if fields.get("name") is None:
        message = "Object missing required field `name`"
        raise InvalidInput(f"{message}: a product needs a name, unless it is a variant (`group_id`).",
                           {"fields": {"name": message}})


def with_group(after: dict[str, Any], group: GroupFacts | None, inherited: Sequence[str],
               written: Sequence[str]) -> dict[str, Any]:
    """`after` with what the product takes from its group applied, and checked to name itself."""
    try:
        resolved = variants.resolve(after, group, inherited, written)
    except MissingVariantAxis as exc:
        raise InvalidInput(exc.message, exc.details, code=exc.code) from exc
    require_name(resolved)
    if resolved.get("description") is None:
        resolved["description"] = ""
    return resolved


async def create_product(session: AsyncSession, data: ProductCreate, default_currency: str) -> Product:
    ref = await validation.reference(session)
    validation.check_price(data.price)
    fields = with_group({
        "sku": data.sku, "name": data.name, "price": data.price, "currency": data.currency or default_currency,
        "description": data.description, "brand": data.brand, "category_id": data.category_id,
        "status": data.status.value, "attributes": data.attributes, "images": data.images,
    }, await group_facts(session, data.group_id), (), ())
    ref.check_category(fields["category_id"])
    ref.check_attributes(fields["category_id"], fields["attributes"])
    product = Product(**fields)
    await apply_quality(session, [product])
    try:
        async with session.begin_nested():  # a failed insert must not spoil the caller's transaction
            session.add(product)
            await session.flush()
    except IntegrityError as exc:
        raise write_conflict(exc, data.sku, data.group_id) from None
    await session.refresh(product)
    return product


def parse_if_match(header: str | None) -> int | None:
    """`If-Match: "7"` (or W/"7") -> 7; absent or `*` -> None (no precondition)."""
    if header is None or header.strip() == "*":
        return None
    value = header.strip().removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(
            'If-Match must be an ETag returned by this API, e.g. "3".',
            {"fields": {"If-Match": header}},
            code="INVALID_IF_MATCH",
        ) from None


async def lock_product(session: AsyncSession, product_id: int, expected_version: int | None) -> Product:
    product = (
        await session.execute(select(Product).where(col(Product.id) == product_id).with_for_update())
    ).scalar_one_or_none()
    if product is None:
        raise product_not_found(product_id)
    if expected_version is not None and product.version != expected_version:
        raise PreconditionFailed(
            f"Product {product_id} changed since you read it (your version {expected_version}, current "
            f"{product.version}); fetch it again and reapply your change.",
            {"expected_version": expected_version, "current_version": product.version},
        )
    return product


def changes_of(update: ProductUpdate) -> dict[str, Any]:
    return {
        name: getattr(update, name)
        for name in EDITABLE_FIELDS
        if getattr(update, name, msgspec.UNSET) is not msgspec.UNSET
    }


async def update_product(
    session: AsyncSession, product_id: int, update: ProductUpdate, expected_version: int | None
) -> Product:
    product = await lock_product(session, product_id, expected_version)
    await apply_changes(session, product, changes_of(update))
    return product


async def apply_changes(session: AsyncSession, product: Product, changes: dict[str, Any],
                        group: GroupFacts | Literal["load"] | None = "load") -> bool:
    """Validate and write `changes` (and what the product takes from its group: `group` when the caller has
    it, else loaded); returns whether anything actually changed."""
    if "status" in changes:
        changes["status"] = ProductStatus(changes["status"]).value
    if changes.get("images"):  # a product read and written back lists its uploads: they are not external URLs
        uploaded = set(uploaded_urls(product.uploaded_images))
        changes["images"] = [url for url in changes["images"] if url not in uploaded]
    if group == "load":
        group = await group_facts(session, changes.get("group_id", product.group_id))
    before = {name: _stored(product, name) for name in WRITTEN_FIELDS}
    after = with_group(before | changes, group, product.inherited, list(changes))
    different = {name: value for name, value in after.items() if before.get(name) != value}
    if not different:
        return False
    validation.check_changes(
        await validation.reference(session), different, after["category_id"], after["attributes"]
    )
    sku = str(after["sku"])  # read now: a rolled-back savepoint expires the object
    group_id = after["group_id"]
    try:
        async with session.begin_nested():  # opened before mutating: a failed flush rolls back only this
            for name, value in different.items():
                setattr(product, name, value)
            await apply_quality(session, [product])
            await session.flush()
    except IntegrityError as exc:
        raise write_conflict(exc, sku, group_id) from None
    await session.refresh(product)
    return True


def _stored(product: Product, name: str) -> Any:
    value = getattr(product, name)
    return value.strip() if name == "currency" else value


async def delete_product(session: AsyncSession, product_id: int, expected_version: int | None) -> None:
    product = await lock_product(session, product_id, expected_version)
    await session.delete(product)
    await session.flush()


def version_etag(version: int) -> str:
    return f'"{version}"'
