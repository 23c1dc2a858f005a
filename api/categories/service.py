"""Category tree reads and writes. Paths are slugs joined by '/'; a move rewrites the whole subtree at once.

Every structural write takes one transaction-scoped advisory lock, so two moves can never interleave into a
cycle and a child is never created under a parent whose path is being rewritten.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

from api.categories.schemas import (
    AttributeDefinition,
    CategoryCreate,
    CategoryNode,
    CategoryRead,
    CategoryUpdate,
)
from catalog.errors import Conflict, InvalidInput, NotFound
from db import quality
from db.models import AttributeType, Category, CategoryAttribute, Product
from db.session import sync_engine

log = logging.getLogger("catalog.api.categories")

_TREE_LOCK = 7_310_001  # pg_advisory_xact_lock key shared by every structural category write

# One statement rewrites the node and its whole subtree. LIKE is safe: slugs cannot contain '%' or '_'.
_MOVE_SUBTREE = text("""
    UPDATE categories SET
        path = :new_path || substr(path, :old_length + 1),
        depth = depth + :shift,
        parent_id = CASE WHEN id = :id THEN CAST(:parent_id AS bigint) ELSE parent_id END,
        slug = CASE WHEN id = :id THEN :slug ELSE slug END,
        name = CASE WHEN id = :id THEN :name ELSE name END,
        updated_at = now()
    WHERE path = :old_path OR path LIKE :old_path || '/%'
""")


def category_not_found(category_id: int) -> NotFound:
    return NotFound(f"Category {category_id} does not exist.", {"category_id": category_id},
                    code="CATEGORY_NOT_FOUND")


def _to_read(category: Category, product_count: int | None = None) -> CategoryRead:
    assert category.id is not None
    return CategoryRead(id=category.id, parent_id=category.parent_id, slug=category.slug, name=category.name,
                        path=category.path, depth=category.depth, product_count=product_count)


async def _lock_tree(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TREE_LOCK})


async def _find(session: AsyncSession, category_id: int) -> Category | None:
    query = select(Category).where(col(Category.id) == category_id)
    return (await session.execute(query)).scalar_one_or_none()


async def _require(session: AsyncSession, category_id: int) -> Category:
    category = await _find(session, category_id)
    if category is None:
        raise category_not_found(category_id)
    return category


async def _require_parent(session: AsyncSession, parent_id: int) -> Category:
    parent = await _find(session, parent_id)
    if parent is None:
        raise InvalidInput(f"The parent category {parent_id} does not exist.",
                           {"fields": {"parent_id": f"no category {parent_id}"}}, code="CATEGORY_NOT_FOUND")
    return parent


def _child_path(parent: Category | None, slug: str) -> str:
    return f"{parent.path}/{slug}" if parent is not None else slug


async def _refuse_taken_path(session: AsyncSession, path: str, own_id: int | None = None) -> None:
    query = select(col(Category.id)).where(col(Category.path) == path)
    taken = (await session.execute(query)).scalar_one_or_none()
    if taken is not None and taken != own_id:
        raise _already_exists(path)


def _already_exists(path: str) -> Conflict:
    return Conflict(f"A category with path {path!r} already exists.", {"fields": {"path": path}},
                    code="CATEGORY_ALREADY_EXISTS")


async def _subtree_product_counts(session: AsyncSession) -> dict[str, int]:
    """Products per category path, each product counted in its own category and in every ancestor."""
    rows = (await session.execute(
        select(col(Category.path), func.count())
        .join(Product, col(Product.category_id) == col(Category.id))
        .group_by(col(Category.path))
    )).all()
    totals: dict[str, int] = {}
    for path, count in rows:
        segments = str(path).split("/")
        for depth in range(1, len(segments) + 1):
            ancestor = "/".join(segments[:depth])
            totals[ancestor] = totals.get(ancestor, 0) + int(count)
    return totals


async def list_categories(session: AsyncSession, with_counts: bool = False) -> list[CategoryRead]:
    """Every category, ordered by path (so each parent comes right before its subtree)."""
    categories = (await session.execute(select(Category).order_by(col(Category.path)))).scalars().all()
    if not with_counts:
        return [_to_read(c) for c in categories]
    counts = await _subtree_product_counts(session)
    return [_to_read(c, counts.get(c.path, 0)) for c in categories]


def build_tree(flat: Iterable[CategoryRead]) -> list[CategoryNode]:
    """Nest a path-ordered flat list; children keep path order."""
    nodes: dict[int, CategoryNode] = {}
    roots: list[CategoryNode] = []
    for item in flat:
        node = CategoryNode(id=item.id, parent_id=item.parent_id, slug=item.slug, name=item.name,
                            path=item.path, depth=item.depth, children=[], product_count=item.product_count)
        nodes[item.id] = node
        parent = nodes.get(item.parent_id) if item.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    return roots


async def get_category(session: AsyncSession, category_id: int, with_counts: bool = False) -> CategoryRead:
    category = await _require(session, category_id)
    if not with_counts:
        return _to_read(category)
    counts = await _subtree_product_counts(session)
    return _to_read(category, counts.get(category.path, 0))


@asynccontextmanager
async def _refusing_duplicate_path(session: AsyncSession, path: str) -> AsyncIterator[None]:
    """A savepoint whose unique-path violation (a write that skipped the tree lock) becomes a 409."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as exc:
        if "categories_path_key" in str(exc.orig):
            raise _already_exists(path) from None
        raise


async def create_category(session: AsyncSession, data: CategoryCreate) -> CategoryRead:
    await _lock_tree(session)
    parent = await _require_parent(session, data.parent_id) if data.parent_id is not None else None
    path = _child_path(parent, data.slug)
    await _refuse_taken_path(session, path)
    category = Category(parent_id=data.parent_id, slug=data.slug, name=data.name, path=path,
                        depth=parent.depth + 1 if parent is not None else 0)
    session.add(category)
    async with _refusing_duplicate_path(session, path):
        await session.flush()
    await session.refresh(category)
    return _to_read(category)


def _refuse_cycle(category: Category, parent: Category) -> None:
    if parent.path == category.path or parent.path.startswith(category.path + "/"):
        raise InvalidInput(
            f"Category {category.id} cannot move under {parent.id}: that is itself or one of its "
            "descendants.",
            {"fields": {"parent_id": f"{parent.id} is inside the subtree of {category.id}"}},
            code="CATEGORY_CYCLE",
        )


async def update_category(session: AsyncSession, category_id: int, data: CategoryUpdate
                          ) -> tuple[CategoryRead, bool]:
    """Rename, re-slug and/or move; returns the category and whether its place in the tree changed."""
    await _lock_tree(session)
    category = await _require(session, category_id)
    parent_id = category.parent_id if isinstance(data.parent_id, msgspec.UnsetType) else data.parent_id
    slug = category.slug if isinstance(data.slug, msgspec.UnsetType) else data.slug
    name = category.name if isinstance(data.name, msgspec.UnsetType) else data.name
    parent = await _require_parent(session, parent_id) if parent_id is not None else None
    if parent is not None:
        _refuse_cycle(category, parent)
    new_path = _child_path(parent, slug)
    moved = parent_id != category.parent_id
    if new_path == category.path and name == category.name and not moved:
        return _to_read(category), False
    await _refuse_taken_path(session, new_path, own_id=category_id)
    new_depth = parent.depth + 1 if parent is not None else 0
    async with _refusing_duplicate_path(session, new_path):
        await session.execute(_MOVE_SUBTREE, {
            "id": category_id, "parent_id": parent_id, "slug": slug, "name": name, "new_path": new_path,
            "old_path": category.path, "old_length": len(category.path), "shift": new_depth - category.depth,
        })
    session.expunge(category)
    return _to_read(await _require(session, category_id)), moved


async def delete_category(session: AsyncSession, category_id: int) -> None:
    await _lock_tree(session)
    category = await _require(session, category_id)
    children = await _count(session, Category, col(Category.parent_id) == category_id)
    products = await _count(session, Product, col(Product.category_id) == category_id)
    if children or products:
        raise _not_empty(category_id, children, products)
    await session.delete(category)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # A product was assigned to it after the count (products do not take the tree lock).
        raise _not_empty(category_id, children, products + 1) from None


async def _count(session: AsyncSession, table: type[Category | Product], condition: ColumnElement[bool]
                 ) -> int:
    return int((await session.execute(select(func.count()).select_from(table).where(condition))).scalar_one())


def _not_empty(category_id: int, children: int, products: int) -> Conflict:
    return Conflict(f"Category {category_id} still has {children} subcategories and {products} products; "
                    "move or delete them first.", {"children": children, "products": products},
                    code="CATEGORY_NOT_EMPTY")


def _to_definition(row: CategoryAttribute) -> AttributeDefinition:
    return AttributeDefinition(name=row.name, type=AttributeType(row.type), allowed_values=row.allowed_values,
                               required=row.required, facetable=row.facetable)


async def get_attributes(session: AsyncSession, category_id: int) -> list[AttributeDefinition]:
    await _require(session, category_id)
    rows = (await session.execute(
        select(CategoryAttribute).where(col(CategoryAttribute.category_id) == category_id)
        .order_by(col(CategoryAttribute.name))
    )).scalars().all()
    return [_to_definition(row) for row in rows]


_VALUE_TYPES: dict[AttributeType, tuple[type, ...]] = {
    AttributeType.STRING: (str,), AttributeType.NUMBER: (int, float), AttributeType.BOOLEAN: (bool,),
    AttributeType.LIST: (str, int, float, bool),
}


def _allowed_values_problem(definition: AttributeDefinition) -> str | None:
    values = definition.allowed_values
    if values is None:
        return None
    if not values:
        return "list at least one value, or send null for any value"
    expected = _VALUE_TYPES[definition.type]
    bool_as_number = definition.type == AttributeType.NUMBER
    wrong = [v for v in values if not isinstance(v, expected) or (isinstance(v, bool) and bool_as_number)]
    if wrong:
        return f"values {wrong} are not of type {definition.type.value}"
    if len({msgspec.json.encode(v) for v in values}) != len(values):
        return "values repeat"
    return None


def _validate_definitions(definitions: Sequence[AttributeDefinition]) -> None:
    problems: dict[str, Any] = {}
    seen: set[str] = set()
    for index, definition in enumerate(definitions):
        if definition.name in seen:
            problems[f"[{index}].name"] = f"{definition.name!r} is defined twice"
        seen.add(definition.name)
        if (problem := _allowed_values_problem(definition)) is not None:
            problems[f"[{index}].allowed_values"] = problem
    if problems:
        raise InvalidInput("Some attribute definitions are invalid.", {"fields": problems},
                           code="INVALID_ATTRIBUTE_DEFINITIONS")


async def replace_attributes(session: AsyncSession, category_id: int,
                             definitions: Sequence[AttributeDefinition]) -> list[AttributeDefinition]:
    """The category's definitions become exactly `definitions` (its ancestors' are untouched)."""
    _validate_definitions(definitions)
    await _lock_tree(session)
    await _require(session, category_id)
    await session.execute(delete(CategoryAttribute).where(col(CategoryAttribute.category_id) == category_id))
    session.add_all([CategoryAttribute(category_id=category_id, name=d.name, type=d.type.value,
                                       allowed_values=d.allowed_values, required=d.required,
                                       facetable=d.facetable) for d in definitions])
    await session.flush()
    return await get_attributes(session, category_id)


async def refresh_completeness(database_url: str, category_ids: list[int]) -> None:
    """Re-score the products below these categories after a committed tree or definition change.

    The quality engine runs its own short batched transactions on a sync engine, so it runs in a thread
    after the commit. A failure is logged, not raised: the change itself is committed, and
    `recompute_all` catches any score left stale.
    """
    try:
        changed = await asyncio.to_thread(quality.recompute_for_categories, sync_engine(database_url),
                                          category_ids)
    except Exception:
        log.exception("completeness recompute failed for categories %s", category_ids)
        return
    log.info("completeness recomputed for categories %s: %d products changed", category_ids, changed)
