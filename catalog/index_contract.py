"""The search document's contract: the field names of a product document, how a category path becomes its
levels, and the Redis counter the indexer bumps after each batch. The indexer writes documents by it
(`indexer.documents`, `indexer.mapping` builds the index mapping from these names); the API's search and the
dashboard's search insights read by it. Shared base: imports nothing of the catalog's layers.

The text analysis the fields use (`index_analysis`) is part of the contract too.

Fields of a product document (`_id` is the product id as a string):
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

from typing import Any, Final

# --- field names (import these rather than spelling strings) ---------------------------------------------
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



def index_analysis() -> dict[str, Any]:
    """The index's analyzers and normalizers: the index is built with them, and the API analyses a merchandising
    rule's words with `product_text` in-process, so the two never disagree."""
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


def category_levels(path: str | None) -> list[str]:
    """Every level of a path, "a/b/c" -> ["a", "a/b", "a/b/c"], so a filter on a level finds its subtree."""
    if not path:
        return []
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def generation_key(alias: str) -> str:
    """Redis counter bumped after every acknowledged batch (search caches key on it)."""
    return f"catalog:index_generation:{alias}"
