"""The product search index: analyzers, mapping, template and `<alias>_v<N>` versioning.

The document's fields (names, what each is for) are the shared contract in `catalog.index_contract`; this module
builds the index for them.
"""

from __future__ import annotations

import re
from typing import Any, Final

from opensearchpy import NotFoundError, OpenSearch, RequestError

from catalog.index_contract import (
    ATTR_KEYS,
    ATTR_NUMBERS,
    ATTR_PAIRS,
    ATTR_TEXT,
    ATTRIBUTES,
    AUTOCOMPLETE,
    AVAILABLE,
    BRAND,
    CATEGORY_ID,
    CATEGORY_NAMES,
    CATEGORY_PATH,
    COMPLETENESS,
    CREATED_AT,
    CURRENCY,
    DESCRIPTION,
    GROUP_CODE,
    GROUP_ID,
    GROUP_KEY,
    GROUP_NAME,
    ID,
    IMAGE_COUNT,
    IMAGES,
    IN_STOCK,
    MISSING_FIELDS,
    NAME,
    PRICE,
    PRICE_SCALING_FACTOR,
    SKU,
    SPELL,
    STATUS,
    UPDATED_AT,
    VERSION,
    index_analysis,
)
from catalog.settings import Settings

DEFAULT_REFRESH_INTERVAL: Final = "1s"
# Delete tombstones outlive a slow concurrent writer (the default is 60s), so an older document can
# never resurrect a deleted product; `catalog verify` is the backstop beyond that.
GC_DELETES: Final = "1h"


class IndexSetupError(RuntimeError):
    """The alias cannot be set up (e.g. a concrete index already squats the alias name)."""


def search_document_fields() -> dict[str, str]:
    """Every document field and its OpenSearch type (sub-fields as `parent.sub`)."""
    fields: dict[str, str] = {}
    for name, spec in index_mappings()["properties"].items():
        fields[name] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            fields[f"{name}.{sub}"] = sub_spec["type"]
    return fields


def index_name(alias: str, version: int) -> str:
    return f"{alias}_v{version}"


def index_version(alias: str, name: str) -> int | None:
    """N for an index called `<alias>_v<N>`, else None."""
    match = re.fullmatch(re.escape(alias) + r"_v(\d+)", name)
    return int(match.group(1)) if match else None


def template_name(alias: str) -> str:
    return f"{alias}_template"


def index_settings(
    refresh_interval: str = DEFAULT_REFRESH_INTERVAL, shards: int = 1, replicas: int = 0
) -> dict[str, Any]:
    """`shards` and `replicas` come from CATALOG_INDEX_SHARDS / CATALOG_INDEX_REPLICAS (see `ensure_index`)."""
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "refresh_interval": refresh_interval,
        "gc_deletes": GC_DELETES,
        "mapping": {"total_fields": {"limit": 2000}},
        "analysis": index_analysis(),
    }


def _keyword(**extra: Any) -> dict[str, Any]:
    return {"type": "keyword", **extra}


def _product_text(offsets: bool = False, **fields: Any) -> dict[str, Any]:
    """`offsets`: the highlighted fields keep term offsets, so highlighting reads them instead of re-analysing."""
    spec: dict[str, Any] = {"type": "text", "analyzer": "product_text"}
    if offsets:
        spec["index_options"] = "offsets"
    if fields:
        spec["fields"] = fields
    return spec


def index_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "dynamic_templates": [
            {"attr_numbers": {"path_match": f"{ATTR_NUMBERS}.*", "mapping": {"type": "double"}}},
        ],
        "properties": {
            ID: {"type": "long"},
            SKU: _keyword(
                normalizer="lowercase_ascii",
                fields={
                    "text": {"type": "text", "analyzer": "product_exact"},
                    "compact": {"type": "keyword", "normalizer": "compact"},
                },
            ),
            NAME: _product_text(
                offsets=True,
                exact={"type": "text", "analyzer": "product_exact"},
                joined={"type": "text", "analyzer": "product_joined"},
                sort={"type": "keyword", "normalizer": "lowercase_ascii", "ignore_above": 256},
                words={"type": "keyword", "normalizer": "words", "ignore_above": 512},
            ),
            # Facet fields build their global ordinals at refresh, not in the first search after it.
            BRAND: _product_text(
                offsets=True, keyword={"type": "keyword", "ignore_above": 256, "eager_global_ordinals": True}
            ),
            DESCRIPTION: _product_text(offsets=True),
            AUTOCOMPLETE: {"type": "search_as_you_type", "analyzer": "product_exact"},
            SPELL: {"type": "text", "analyzer": "spell_shingle"},
            CATEGORY_ID: {"type": "long"},
            CATEGORY_PATH: _keyword(ignore_above=1024, eager_global_ordinals=True),
            CATEGORY_NAMES: _product_text(keyword={"type": "keyword", "ignore_above": 256}),
            STATUS: _keyword(),
            PRICE: {"type": "scaled_float", "scaling_factor": PRICE_SCALING_FACTOR},
            CURRENCY: _keyword(),
            AVAILABLE: {"type": "integer"},
            IN_STOCK: {"type": "boolean"},
            ATTR_PAIRS: _keyword(ignore_above=512, eager_global_ordinals=True),
            ATTR_KEYS: _keyword(),
            ATTR_TEXT: _product_text(),
            ATTR_NUMBERS: {"type": "object", "dynamic": True},
            ATTRIBUTES: {"type": "object", "enabled": False},
            IMAGES: _keyword(index=False, doc_values=False),
            IMAGE_COUNT: {"type": "integer"},
            COMPLETENESS: {"type": "integer"},
            MISSING_FIELDS: _keyword(),
            CREATED_AT: {"type": "date"},
            UPDATED_AT: {"type": "date"},
            VERSION: {"type": "long"},
            GROUP_ID: {"type": "long"},
            GROUP_KEY: _keyword(),
            GROUP_CODE: _keyword(index=False, doc_values=False),
            GROUP_NAME: _keyword(index=False, doc_values=False),
        },
    }


def template_body(
    alias: str, refresh_interval: str = DEFAULT_REFRESH_INTERVAL, shards: int = 1, replicas: int = 0
) -> dict[str, Any]:
    return {
        "index_patterns": [f"{alias}_v*"],
        "priority": 200,
        "template": {"settings": index_settings(refresh_interval, shards, replicas), "mappings": index_mappings()},
        "_meta": {"owner": "catalog indexer"},
    }


def put_index_template(
    client: OpenSearch,
    alias: str,
    refresh_interval: str = DEFAULT_REFRESH_INTERVAL,
    shards: int = 1,
    replicas: int = 0,
) -> None:
    """Create or update the template; it applies to indices created after this call."""
    body = template_body(alias, refresh_interval, shards, replicas)
    client.indices.put_index_template(name=template_name(alias), body=body)


def alias_target(client: OpenSearch, alias: str) -> str | None:
    """The concrete index the alias points at, or None when the alias does not exist."""
    try:
        found = client.indices.get_alias(name=alias)
    except NotFoundError:
        return None
    names: list[str] = sorted(found)
    if len(names) != 1:
        raise IndexSetupError(
            f"alias {alias!r} points at {len(names)} indices ({names}); expected exactly one"
        )
    return names[0]


def index_versions(client: OpenSearch, alias: str) -> list[int]:
    """Versions N of every existing `<alias>_v<N>` index, ascending."""
    found = client.indices.get(index=f"{alias}_v*", expand_wildcards="all", ignore_unavailable=True)
    return sorted(v for name in found if (v := index_version(alias, name)) is not None)


def mapping_is_current(client: OpenSearch, index: str) -> bool:
    """Does `index` have every field of today's mapping? (An older one needs `catalog reindex`.)"""
    live = client.indices.get_mapping(index=index)[index]["mappings"].get("properties", {})
    for name, spec in index_mappings()["properties"].items():
        if name not in live or set(spec.get("fields", {})) - set(live[name].get("fields", {})):
            return False
    return True


def ensure_index(
    client: OpenSearch, settings: Settings, refresh_interval: str = DEFAULT_REFRESH_INTERVAL
) -> str:
    """Make sure the template and the alias exist (creating `<alias>_v1` if needed); idempotent.

    Returns the concrete index behind the alias. Safe to call from several processes at once: the
    index and its alias are created in one request, so a loser of the race just finds the alias.
    """
    alias = settings.index_alias
    put_index_template(client, alias, refresh_interval, settings.index_shards, settings.index_replica_count)
    target = alias_target(client, alias)
    if target is not None:
        return target
    if client.indices.exists(index=alias):
        raise IndexSetupError(
            f"{alias!r} is a concrete index, not an alias (something wrote to it before the indexer set "
            "it up). Delete it, then run `catalog reindex`."
        )
    versions = index_versions(client, alias)
    name = index_name(alias, (versions[-1] + 1) if versions else 1)
    try:
        client.indices.create(index=name, body={"aliases": {alias: {}}})
    except RequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
    target = alias_target(client, alias)
    if target is None:
        raise IndexSetupError(f"created {name} but alias {alias!r} is missing")
    return target
