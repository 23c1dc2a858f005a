"""HTTP routes for merchandising rules (`/search/rules`): admins and merchandisers steer what shoppers see."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.openapi import error_responses
from db.session import transaction
from search import rules, service
from search.rule_schemas import RuleCreate, RuleRead, RuleUpdate


class SearchRuleController(Controller):
    path = "/search/rules"
    tags = ["search"]
    guards = [requires(CATALOG_WRITERS)]

    @get("/", summary="List merchandising rules", responses=error_responses(401, 403))
    async def list_rules(self, sessions: async_sessionmaker[AsyncSession]) -> list[RuleRead]:
        async with sessions() as session:
            return await rules.list_rules(session)

    @post("/", summary="Create a rule (pin, hide, boost, filter); applies at once", status_code=HTTP_201_CREATED,
          responses=error_responses(400, 401, 403, 503))
    async def create_rule(self, data: RuleCreate, request: Request[Any, Any, Any],
                          sessions: async_sessionmaker[AsyncSession], principal: Principal) -> RuleRead:
        """`when: {query, match: exact|contains, category}` says which searches it fires for (the query after
        the analysis search uses: "iPhone Cases" fires a rule for "iphone case"); unknown SKUs -> 400 naming
        them. Precedence: filters, then hides, then boosts (relevance), then pins (sellable ones only)."""
        state = request.app.state
        async with transaction(sessions, principal.user_id) as session:
            created = await rules.create_rule(session, state.opensearch, data, principal.user_id)
        await service.settings_changed(request.app.state)
        return created

    @get("/{rule_id:int}", summary="Get a rule", responses=error_responses(401, 403, 404))
    async def get_rule(self, rule_id: int, sessions: async_sessionmaker[AsyncSession]) -> RuleRead:
        async with sessions() as session:
            return await rules.get_rule(session, rule_id)

    @patch("/{rule_id:int}", summary="Change a rule (fields left out keep their value)",
           responses=error_responses(400, 401, 403, 404, 503))
    async def update_rule(self, rule_id: int, data: RuleUpdate, request: Request[Any, Any, Any],
                          sessions: async_sessionmaker[AsyncSession], principal: Principal) -> RuleRead:
        state = request.app.state
        async with transaction(sessions, principal.user_id) as session:
            updated = await rules.update_rule(session, state.opensearch, rule_id, data)
        await service.settings_changed(request.app.state)
        return updated

    @delete("/{rule_id:int}", summary="Delete a rule", status_code=HTTP_204_NO_CONTENT,
            responses=error_responses(401, 403, 404))
    async def delete_rule(self, rule_id: int, request: Request[Any, Any, Any],
                          sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
        async with transaction(sessions, principal.user_id) as session:
            await rules.delete_rule(session, rule_id)
        await service.settings_changed(request.app.state)
