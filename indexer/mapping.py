"""The product search index: field names, analyzers, mapping, template and `<alias>_v<N>` versioning.

This module is the one place that knows the search document's shape; the API's search code imports
the field names from here. Fields of a product document (`_id` is the product id as a string):

| field | type | what it is for |
|---|---|---|
| `id` | long | sort key for verify/search_after; equals `_id` |
| `sku` | keyword (normalizer lowercase) | exact/prefix SKU lookup, case-insensitive |
| `sku.text` | text (`product_exact`) | SKU typed with spaces/dashes: "abc 123" finds "ABC-123" |
| `sku.compact` | keyword (normalizer `compact`: letters and digits only) | "54or323014" finds "54-OR323014" |
| `name` | text (`product_text`: lowercase, asciifolding, english stemming) | full-text |
| `name.exact` | text (`product_exact`, no stemming) | boost exact wording |
| `name.joined` | text (`product_joined`: "SM-G930V" -> "smg930v") | model numbers typed without their dashes |
| `name.sort` | keyword (lowercase normalizer) | sort by name |
| `name.words` | keyword (normalizer `words`: words only, single spaces) | the whole name typed, punctuation or not |
| `brand` | text (`product_text`) | full-text |
| `brand.keyword` | keyword | brand facet and filter |
| `description` | text (`product_text`) | full-text |
| `autocomplete` | search_as_you_type (`product_exact`) | name + brand, for as-you-type suggestions |
| `spell` | text (`spell_shingle`: 1-3 word shingles) | phrase suggester ("did you mean"); name + brand |
| `category_id` | long | the product's own category |
| `category_path` | keyword, every level | ["electronics", "electronics/tv"]: a term on a level matches |
|  |  | its subtree; children of X: terms aggregation with `include: "X/[^/]+"` |
| `category_names` | text (`product_text`) + `.keyword` | level names ("Electronics", "TVs"); searchable |
| `status` | keyword | draft / active / archived (the storefront filters `status: active`) |
| `price` | scaled_float (factor 100) | filter, sort, range facets |
| `currency` | keyword | |
| `available` | integer | sum of on_hand - reserved over warehouses |
| `in_stock` | boolean | available > 0 |
| `attr_pairs` | keyword | each attribute as "name=value" (one pair per list element; "true"/"false") |
| `attr_keys` | keyword | attribute names present on the product |
| `attr_text` | text (`product_text`) | the attribute values as words: "wireless" finds `charging: "Qi wireless"` |
| `attr_numbers.<name>` | double (dynamic template) | numeric attribute values, for range filters |
| `attributes` | object, not indexed | the raw attributes, for display |
| `images` | keyword, not indexed | image URLs, for display |
| `image_count` | integer | |
| `completeness` | integer | 0-100 |
| `missing_fields` | keyword | what a merchandiser still has to fill in |
| `created_at`, `updated_at` | date | |
| `version` | long | the product's version; also the document's external `_version` |
| `group_id` | long | a variant's product group (absent for a product of its own) |
| `group_key` | keyword | `g<group id>` for a variant, `p<product id>` otherwise: what search collapses on |
| `group_code`, `group_name` | keyword, not indexed | a variant's group, shown with it (re-indexed on a group change) |

Attribute facets without `nested`: filter with `{"term": {"attr_pairs": "color=red"}}`; per-attribute
counts with one terms aggregation per attribute, `{"terms": {"field": "attr_pairs", "include": "color=.*"}}`,
or one aggregation over all of `attr_pairs` split at the first "=". This costs no nested documents
and keeps every facet a plain doc-values terms aggregation.
"""

from __future__ import annotations

import re
from typing import Any, Final

from opensearchpy import NotFoundError, OpenSearch, RequestError

from catalog.settings import Settings

# --- field names (import these rather than spelling strings) -------------------------------------
ID: Final = "id"
SKU: Final = "sku"
SKU_TEXT: Final = "sku.text"
SKU_COMPACT: Final = "sku.compact"
NAME: Final = "name"
NAME_EXACT: Final = "name.exact"
NAME_JOINED: Final = "name.joined"
NAME_SORT: Final = "name.sort"
NAME_WORDS: Final = "name.words"
BRAND: Final = "brand"
BRAND_KEYWORD: Final = "brand.keyword"
DESCRIPTION: Final = "description"
AUTOCOMPLETE: Final = "autocomplete"
SPELL: Final = "spell"
CATEGORY_ID: Final = "category_id"
CATEGORY_PATH: Final = "category_path"
CATEGORY_NAMES: Final = "category_names"
CATEGORY_NAMES_KEYWORD: Final = "category_names.keyword"
STATUS: Final = "status"
PRICE: Final = "price"
CURRENCY: Final = "currency"
AVAILABLE: Final = "available"
IN_STOCK: Final = "in_stock"
ATTR_PAIRS: Final = "attr_pairs"
ATTR_KEYS: Final = "attr_keys"
ATTR_TEXT: Final = "attr_text"
ATTR_NUMBERS: Final = "attr_numbers"
ATTRIBUTES: Final = "attributes"
IMAGES: Final = "images"
IMAGE_COUNT: Final = "image_count"
COMPLETENESS: Final = "completeness"
MISSING_FIELDS: Final = "missing_fields"
CREATED_AT: Final = "created_at"
UPDATED_AT: Final = "updated_at"
VERSION: Final = "version"
GROUP_ID: Final = "group_id"
GROUP_KEY: Final = "group_key"
GROUP_CODE: Final = "group_code"
GROUP_NAME: Final = "group_name"

TEXT_FIELDS: Final = (NAME, NAME_EXACT, NAME_JOINED, BRAND, DESCRIPTION, SKU_TEXT, CATEGORY_NAMES, ATTR_TEXT)
FACET_FIELDS: Final = (BRAND_KEYWORD, CATEGORY_PATH, STATUS, ATTR_PAIRS, CURRENCY, IN_STOCK, MISSING_FIELDS)
ATTR_PAIR_SEPARATOR: Final = "="
PRICE_SCALING_FACTOR: Final = 100

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


def index_analysis() -> dict[str, Any]:
    return {
        "filter": {
            "english_possessive": {"type": "stemmer", "language": "possessive_english"},
            # light_english (KStem) stems plurals and -ing without mangling brand-like words.
            "english_light": {"type": "stemmer", "language": "light_english"},
            "spell_shingle": {"type": "shingle", "min_shingle_size": 2, "max_shingle_size": 3},
        },
        "char_filter": {
            # "SM-G930V", "54-OR323014", "USB-C": the punctuation inside a code goes, so it is one word.
            "join_codes": {"type": "pattern_replace", "pattern": "(?<=[\\p{L}\\p{N}])[-./_](?=[\\p{L}\\p{N}])",
                           "replacement": ""},
            "letters_digits_only": {"type": "pattern_replace", "pattern": "[^\\p{L}\\p{N}]", "replacement": ""},
            "words_only": {"type": "pattern_replace", "pattern": "[^\\p{L}\\p{N}]+", "replacement": " "},
        },
        "normalizer": {
            "lowercase_ascii": {"type": "custom", "filter": ["lowercase", "asciifolding"]},
            "compact": {
                "type": "custom",
                "char_filter": ["letters_digits_only"],
                "filter": ["lowercase", "asciifolding"],
            },
            "words": {"type": "custom", "char_filter": ["words_only"], "filter": ["lowercase", "asciifolding", "trim"]},
        },
        "analyzer": {
            "product_text": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["english_possessive", "lowercase", "asciifolding", "english_light"],
            },
            "product_exact": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding"],
            },
            "product_joined": {
                "type": "custom",
                "char_filter": ["join_codes"],
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding"],
            },
            "spell_shingle": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding", "spell_shingle"],
            },
        },
    }


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
