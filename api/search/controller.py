"""HTTP routes: public storefront search and suggestions (optionally confined by a scoped search key); synonym
management for merchandisers."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.openapi import error_responses
from api.search import events, keys
from db.session import transaction
from search import service, suggestions, synonyms, validation
from search.schemas import (
    DEFAULT_PER_PAGE,
    SearchResponse,
    SuggestResponse,
    SynonymCreate,
    SynonymRead,
)

# An empty requirement object: the OpenAPI way to say "no credentials needed" (Litestar drops `security=[]`,
# which would leave the document's global bearer requirement on these public routes).
PUBLIC: list[dict[str, list[str]]] = [{}]


SearchKeyHeader = Annotated[str | None, Parameter(
    header=keys.HEADER, description="A scoped search key (POST /search/keys): confines the answer to the key's "
    "filter, counted under its rate limit. Required when the catalog sets CATALOG_SEARCH_REQUIRE_KEY.")]


def _wants_fresh_answer(request: Request[Any, Any, Any]) -> bool:
    """`Cache-Control: no-cache` bypasses the response cache (the benchmark's uncached pass uses it)."""
    return "no-cache" not in request.headers.get("cache-control", "").lower()


class SearchController(Controller):
    path = "/search"
    tags = ["search"]

    @get("/", summary="Search the storefront", security=PUBLIC, responses=error_responses(400, 401, 429, 503))
    async def search(
        self,
        request: Request[Any, Any, Any],
        search_key: SearchKeyHeader = None,
        q: Annotated[str | None, Parameter(description="Full text over name, brand, description, SKU and "
                                           "attribute values; typo tolerant. At most 256 characters.")] = None,
        category: Annotated[str | None, Parameter(description="Category path (any level, includes its "
                                                  "descendants), e.g. `electronics/tv`.")] = None,
        brand: Annotated[list[str] | None, Parameter(description="Brands; several are OR-ed.")] = None,
        price_min: float | None = None,
        price_max: float | None = None,
        in_stock: bool | None = None,
        sort: Annotated[str, Parameter(description="relevance | price_asc | price_desc | newest | name")
                        ] = "relevance",
        page: Annotated[int, Parameter(description="1-based; page x per_page <= 10000.")] = 1,
        per_page: Annotated[int, Parameter(description="1 to 100.")] = DEFAULT_PER_PAGE,
        cursor: Annotated[str | None, Parameter(description="`next_cursor` of the previous page (deep paging; "
                                                "takes precedence over `page`).")] = None,
        after_change: Annotated[int | None, Parameter(description="The `X-Catalog-Change` a write returned: "
                                                      "wait up to ~2 s until it is searchable.")] = None,
        group: Annotated[bool, Parameter(description="One item per product group (model), facets and total "
                                         "counting models; `false` lists each variant on its own.")] = True,
    ) -> SearchResponse:
        """Any attribute filters as `attr.<name>=<value>` (values of one attribute OR-ed, attributes AND-ed; with
        groups, all of them must hold for one variant). Facets are disjunctive: each counts under every filter
        except its own. With a search key, hits and facets stay inside the key's filter. `query_id` identifies this
        answer for POST /search/events."""
        validation.refuse_unknown(request.query_params.keys(), validation.SEARCH_PARAMS, attributes=True)
        scope = await keys.scope(request.app.state, search_key)
        params = validation.build_params(
            q=q, category=category, brand=brand, price_min=price_min, price_max=price_max, in_stock=in_stock,
            sort=sort, page=page, per_page=per_page, cursor=cursor,
            attributes=request.query_params.multi_items(), group=group,
        )
        return await service.search(request.app.state, service.SearchRequest(
            msgspec.structs.replace(params, confined=scope.confined), after_change=after_change,
            use_cache=_wants_fresh_answer(request), query_id=events.issue_query_id(request.app.state.settings),
            search_key_id=scope.key_id))

    @get("/suggest", summary="As-you-type suggestions", security=PUBLIC,
         responses=error_responses(400, 401, 429, 503))
    async def suggest(
        self,
        request: Request[Any, Any, Any],
        search_key: SearchKeyHeader = None,
        q: Annotated[str, Parameter(description="The first characters typed; typo tolerant from 3.")] = "",
    ) -> SuggestResponse:
        """Products, brands and categories starting with what was typed (inside a search key's filter)."""
        validation.refuse_unknown(request.query_params.keys(), validation.SUGGEST_PARAMS, attributes=False)
        scope = await keys.scope(request.app.state, search_key)
        return await suggestions.suggest(request.app.state, q, use_cache=_wants_fresh_answer(request),
                                     confined=scope.confined)


class SynonymController(Controller):
    path = "/synonyms"
    tags = ["search"]
    guards = [requires(CATALOG_WRITERS)]

    @get("/", summary="List synonyms", responses=error_responses(401, 403))
    async def list_synonyms(self, sessions: async_sessionmaker[AsyncSession]) -> list[SynonymRead]:
        async with sessions() as session:
            return await synonyms.list_synonyms(session)

    @post("/", summary="Add synonyms (applied to searches at once, no reindex)", status_code=HTTP_201_CREATED,
          responses=error_responses(400, 401, 403))
    async def create_synonym(self, data: SynonymCreate, request: Request[Any, Any, Any],
                             sessions: async_sessionmaker[AsyncSession], principal: Principal) -> SynonymRead:
        """`{"terms": ["tv", "television"]}`: equivalents. `{"terms": ["laptop"], "replacements":
        ["notebook"]}`: one-way, a search for laptop also finds notebooks."""
        async with transaction(sessions, principal.user_id) as session:
            created = await synonyms.create_synonym(session, data, principal.user_id)
        await service.settings_changed(request.app.state)
        return created

    @delete("/{synonym_id:int}", summary="Remove synonyms", status_code=HTTP_204_NO_CONTENT,
            responses=error_responses(401, 403, 404))
    async def delete_synonym(self, synonym_id: int, request: Request[Any, Any, Any],
                             sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
        async with transaction(sessions, principal.user_id) as session:
            await synonyms.delete_synonym(session, synonym_id)
        await service.settings_changed(request.app.state)

