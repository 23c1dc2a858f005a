"""Application assembly: state (engine, Redis, OpenSearch), routes, middleware and error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.types import ControllerRouterHandler
from redis.asyncio import Redis

from api.auth.controller import AuthController
from api.categories.controller import CategoryController
from api.changes.controller import ChangeController
from api.deps import DEPENDENCIES
from api.errors import EXCEPTION_HANDLERS
from api.feeds.controller import ExportController, FeedController
from api.groups.controller import ProductGroupController
from api.health import health, ready
from api.history.controller import HistoryController
from api.imports.controller import ImportController
from api.inventory.controller import StockController, WarehouseController
from api.media.controller import ProductImageController, media_lifespan, serve_media
from api.metrics import metrics
from api.middleware import add_response_headers, rate_limit_middleware, request_context_middleware
from api.openapi import openapi_config
from api.products.controller import ProductController
from api.quality.background import quality_lifespan
from api.quality.controller import QualityController
from api.search.controller import SearchController, SynonymController
from api.search.events_controller import SearchEventController
from api.search.keys_controller import SearchKeyController
from api.search.preview_controller import SearchPreviewController
from api.search.rules_controller import SearchRuleController
from api.users.controller import UserController
from api.users.v1_controller import V1UserController
from api.webhooks.controller import ThresholdController, WebhookController
from catalog.settings import Settings, get_settings
from db.session import async_session_factory, make_async_engine
from search.client import make_search_client

ROUTES: list[ControllerRouterHandler] = [
    health,
    ready,
    metrics,
    AuthController,
    UserController,
    V1UserController,
    ProductController,
    ProductGroupController,
    CategoryController,
    WarehouseController,
    StockController,
    QualityController,
    ProductImageController,
    serve_media,
    SearchController,
    SearchEventController,
    SearchKeyController,
    SynonymController,
    SearchRuleController,
    SearchPreviewController,
    HistoryController,
    ChangeController,
    WebhookController,
    ThresholdController,
    ImportController,
    ExportController,
    FeedController,
]


def _quiet_client_log() -> None:
    """opensearch-py logs every request at INFO: behind Litestar's queue-backed root handler that is one record
    and one logging-thread wake-up per search (and per /ready check). Its warnings (failed requests) still get
    through; a level set explicitly on the `opensearch` logger is left alone."""
    client_log = logging.getLogger("opensearch")
    if client_log.level == logging.NOTSET:
        client_log.setLevel(logging.WARNING)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_async_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = async_session_factory(engine)
        app.state.redis = Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        app.state.opensearch = make_search_client(settings)
        try:
            yield
        finally:
            await app.state.opensearch.close()
            await app.state.redis.aclose()
            await engine.dispose()

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _quiet_client_log()
    app = Litestar(
        route_handlers=ROUTES,
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[rate_limit_middleware],
        before_send=[add_response_headers],
        lifespan=[lifespan, quality_lifespan, media_lifespan],
        openapi_config=openapi_config(),
        request_max_body_size=settings.max_request_body_bytes,
        cors_config=CORSConfig(allow_origins=settings.cors_allow_origins) if settings.cors_allow_origins else None,
        debug=False,
    )
    # Around the whole ASGI handler, not in `middleware=`: Litestar runs route middleware only once a route has
    # matched, so 404s for unknown paths and 405s would be missing from the access log and /metrics.
    app.asgi_handler = request_context_middleware(app.asgi_handler)
    return app
