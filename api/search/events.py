"""Click and conversion events, each tied to the search that showed the product by the response's `query_id`.

A query id is `<uuid hex>.<timestamp>.<signature>` (itsdangerous `TimestampSigner`, keyed by the JWT secret
with a salt of its own): an event's query id is checked by its signature and age alone, without a lookup, and
its uuid is the one stored with the search (`search_queries.query_id`) and with the event. Events are written
off the response path like query logging (`search.query_log.BufferedRecorder`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from itsdangerous import BadSignature, TimestampSigner
from litestar.datastructures import State
from msgspec import Meta, Struct
from sqlalchemy import text

from catalog.errors import NotFound
from catalog.field_types import Sku
from catalog.settings import Settings
from search.query_log import BufferedRecorder

_SALT = "catalog.search.query_id"

EventType = Literal["click", "add_to_cart", "purchase"]


class SearchEventCreate(Struct, forbid_unknown_fields=True):
    """What the shopper did with a product a search showed."""

    query_id: Annotated[str, Meta(min_length=1, max_length=200, description="The search response's `query_id`.")]
    sku: Sku
    type: Annotated[EventType, Meta(description="click | add_to_cart | purchase")]
    position: Annotated[int, Meta(ge=1, le=10_000, description="Where the product was in the results, 1-based "
                                  "(the first item of page 1 is 1); omit when not known, e.g. a purchase made "
                                  "later from the cart.")] | None = None


class SearchEventAccepted(Struct):
    accepted: bool = True


def _signer(settings: Settings) -> TimestampSigner:
    return TimestampSigner(settings.jwt_secret, salt=_SALT, digest_method=hashlib.sha256)


def issue_query_id(settings: Settings) -> str:
    """A fresh query id for one search response."""
    return _signer(settings).sign(uuid.uuid4().hex).decode()


def verify_query_id(settings: Settings, token: str) -> uuid.UUID:
    """The uuid of a query id this catalog issued within the event window; else 404 `QUERY_NOT_FOUND`."""
    try:
        value = _signer(settings).unsign(token, max_age=settings.search_event_window_seconds)
        return uuid.UUID(hex=value.decode())
    except (BadSignature, ValueError):  # SignatureExpired is a BadSignature
        raise NotFound(
            "Unknown or expired `query_id`: send the `query_id` of a search response from the last "
            f"{settings.search_event_window_seconds} seconds (CATALOG_SEARCH_EVENT_WINDOW_SECONDS).",
            {"fields": {"query_id": "unknown or expired"}}, code="QUERY_NOT_FOUND") from None


@dataclass(frozen=True)
class SearchEvent:
    query_id: uuid.UUID
    sku: str
    type: str
    position: int | None


_INSERT = text(
    "INSERT INTO search_events (query_id, sku, type, position) "
    "SELECT * FROM unnest(CAST(:query_id AS uuid[]), CAST(:sku AS text[]), CAST(:type AS text[]), "
    "CAST(:position AS integer[]))"
)


@dataclass
class EventRecorder(BufferedRecorder[SearchEvent]):
    statement = _INSERT
    what = "search events"

    @staticmethod
    def parameters(entries: Sequence[SearchEvent]) -> dict[str, list[Any]]:
        return {
            "query_id": [e.query_id for e in entries],
            "sku": [e.sku for e in entries],
            "type": [e.type for e in entries],
            "position": [e.position for e in entries],
        }


def recorder(state: State) -> EventRecorder:
    """The process's event buffer, created on first use."""
    found = getattr(state, "search_event_recorder", None)
    if isinstance(found, EventRecorder):
        return found
    created = EventRecorder(state.sessions)
    state.search_event_recorder = created
    return created


def record(state: State, data: SearchEventCreate) -> None:
    """Check the query id (404 when unknown or expired) and queue the event."""
    query_id = verify_query_id(state.settings, data.query_id)
    recorder(state).record(SearchEvent(query_id, data.sku, data.type, data.position))
