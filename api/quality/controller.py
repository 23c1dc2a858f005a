"""HTTP routes for catalog quality: the merchandisers' worklist, summaries, duplicates, trends and rules."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.openapi import error_responses
from api.quality import service
from api.quality.background import schedule_recompute
from api.quality.schemas import (
    DuplicateGroupRead,
    EffectiveRules,
    GroupQualityRead,
    ProductQualityRead,
    QualitySummary,
    QualityTrend,
    RuleCreate,
    RuleRead,
    SimilarProductRead,
)
from catalog.settings import Settings
from db import quality
from db.models import ProductStatus
from db.quality.duplicates import DuplicateReason
from db.session import transaction

MAX_LIMIT = 1000
RECOMPUTE_HEADER = "X-Quality-Recompute"
Skip = Annotated[int, Parameter(ge=0, default=0)]
Similarity = Annotated[float, Parameter(ge=0.5, le=1.0, default=quality.DEFAULT_SIMILARITY,
                                        description="Trigram similarity threshold, 0.5 to 1.0.")]


class QualityController(Controller):
    path = "/quality"
    tags = ["quality"]
    guards = [requires(CATALOG_READERS)]

    @get("/products", summary="Products worst first, each with its exact missing fields",
         responses=error_responses(400, 401, 403))
    async def list_products(
        self,
        sessions: async_sessionmaker[AsyncSession],
        skip: Skip = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, default=100)] = 100,
        max_completeness: Annotated[int | None, Parameter(ge=0, le=100)] = None,
        category_id: Annotated[int | None, Parameter(description="Includes its descendants.")] = None,
        missing: Annotated[list[str] | None, Parameter(description=(
            "A field name (brand, attributes.screen_size, ...); repeat it for products missing all of them."))] = None,
        brand: str | None = None,
        status: Annotated[ProductStatus | None, Parameter(description="Default: every status but archived.")] = None,
    ) -> Response[list[ProductQualityRead]]:
        """Ordered by completeness, then id; the total matching count is in the `X-Total-Count` header."""
        async with sessions() as session:
            items, total = await service.list_products(
                session, max_completeness=max_completeness, category_id=category_id, missing=missing or [],
                brand=brand, status=status, skip=skip, limit=limit)
        return Response(items, headers={"X-Total-Count": str(total)})

    @get("/groups", summary="Product models (groups) least complete first, with their incomplete variants",
         responses=error_responses(400, 401, 403))
    async def list_groups(
        self,
        sessions: async_sessionmaker[AsyncSession],
        skip: Skip = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, default=100)] = 100,
        category_id: Annotated[int | None, Parameter(description=(
            "The model's category; includes its descendants."))] = None,
        brand: Annotated[str | None, Parameter(description="The model's brand (case-insensitive).")] = None,
        incomplete_only: Annotated[bool, Parameter(description=(
            "Only models with at least one incomplete variant."), default=False)] = False,
    ) -> Response[list[GroupQualityRead]]:
        """Completeness per model: each group's `variant_count`, its `complete_variants` (completeness 100,
        nothing missing), `complete_pct` (their share, null for a model without variants) and every incomplete
        variant with exactly the fields it misses. Inherited values count: a variant is scored on its
        effective fields. Archived variants do not count.

        Ordered by `complete_pct` (models without variants last), then by most incomplete variants, then id;
        the total matching count is in the `X-Total-Count` header."""
        async with sessions() as session:
            items, total = await service.list_groups(session, category_id=category_id, brand=brand,
                                                     incomplete_only=incomplete_only, skip=skip, limit=limit)
        return Response(items, headers={"X-Total-Count": str(total)})

    @get("/summary", summary="Completeness per category subtree and catalog-wide",
         responses=error_responses(400, 401, 403))
    async def summary(
        self,
        sessions: async_sessionmaker[AsyncSession],
        category_id: Annotated[int | None, Parameter(description="Only this category and its descendants.")] = None,
        top_missing: Annotated[int, Parameter(ge=0, le=50, default=5)] = 5,
    ) -> QualitySummary:
        """From the current data; archived products do not count (as in the daily snapshots)."""
        async with sessions() as session:
            return await service.summary(session, category_id, top_missing)

    @get("/duplicates", summary="Likely duplicate products, grouped", responses=error_responses(400, 401, 403))
    async def duplicates(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        skip: Skip = 0,
        limit: Annotated[int, Parameter(ge=1, le=500, default=50)] = 50,
        category_id: Annotated[int | None, Parameter(description="Includes its descendants.")] = None,
        brand: str | None = None,
        similarity: Similarity = quality.DEFAULT_SIMILARITY,
        reason: Annotated[list[DuplicateReason] | None, Parameter(description="Default: every reason.")] = None,
    ) -> Response[list[DuplicateGroupRead]]:
        """Same GTIN/EAN, same brand and normalized name, or near-identical names; the group count is in
        `X-Total-Count`."""
        async with sessions() as session:
            groups, total = await service.duplicates(
                session, settings.database_url, category_id=category_id, brand=brand, similarity=similarity,
                reasons=reason or [], skip=skip, limit=limit)
        return Response(groups, headers={"X-Total-Count": str(total)})

    @get("/products/{product_id:int}/similar", summary="Products whose names look like this one's",
         responses=error_responses(400, 401, 403, 404))
    async def similar(
        self,
        product_id: int,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        similarity: Similarity = quality.DEFAULT_SIMILARITY,
        limit: Annotated[int, Parameter(ge=1, le=100, default=10)] = 10,
    ) -> list[SimilarProductRead]:
        async with sessions() as session:
            return await service.similar(session, settings.database_url, product_id, similarity, limit)

    @get("/trend", summary="Daily quality snapshots over time", responses=error_responses(400, 401, 403))
    async def trend(
        self,
        sessions: async_sessionmaker[AsyncSession],
        category_id: Annotated[int | None, Parameter(description="Default: the whole catalog.")] = None,
        since: date | None = None,
        until: date | None = None,
    ) -> QualityTrend:
        """One point per day a snapshot was taken (`catalog quality snapshot`, or daily while the API runs)."""
        async with sessions() as session:
            return await service.trend(session, category_id, since, until)

    @get("/rules", summary="The rules that score a category's products", responses=error_responses(400, 401, 403))
    async def rules(
        self,
        sessions: async_sessionmaker[AsyncSession],
        category_id: Annotated[int | None, Parameter(description="Default: uncategorized products.")] = None,
    ) -> EffectiveRules:
        """Global rules, then each ancestor's from the root down, then required attributes; each says where
        it is defined and whether it is inherited."""
        async with sessions() as session:
            return await service.effective_rules(session, category_id)

    @post("/rules", summary="Add a completeness rule", guards=[requires(CATALOG_WRITERS)],
          responses=error_responses(400, 401, 403, 409), status_code=HTTP_201_CREATED)
    async def create_rule(self, data: RuleCreate, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                          principal: Principal) -> Response[RuleRead]:
        """The affected products (the category's subtree, or all for a global rule) are re-scored in the
        background; the body says `recompute: scheduled`."""
        async with transaction(sessions, principal.user_id) as session:
            rule = await service.create_rule(session, data)
        schedule_recompute(settings.database_url, [rule.category_id])
        body = RuleRead(id=rule.id, category_id=rule.category_id, field=rule.field, min_length=rule.min_length,
                        weight=float(rule.weight), created_at=rule.created_at, recompute="scheduled",
                        min_width=rule.min_width)
        return Response(body, status_code=HTTP_201_CREATED, headers={RECOMPUTE_HEADER: "scheduled"})

    @delete("/rules/{rule_id:int}", summary="Remove a completeness rule", guards=[requires(CATALOG_WRITERS)],
            responses=error_responses(204, 401, 403, 404), status_code=HTTP_204_NO_CONTENT)
    async def delete_rule(self, rule_id: int, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                          principal: Principal) -> Response[None]:
        """The affected products are re-scored in the background (header `X-Quality-Recompute: scheduled`)."""
        async with transaction(sessions, principal.user_id) as session:
            rule = await service.delete_rule(session, rule_id)
        schedule_recompute(settings.database_url, [rule.category_id])
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers={RECOMPUTE_HEADER: "scheduled"})
