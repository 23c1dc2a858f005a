"""Request and response schemas for storefront search, suggestions and synonyms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

Sort = Literal["relevance", "price_asc", "price_desc", "newest", "name"]
SORTS: tuple[str, ...] = ("relevance", "price_asc", "price_desc", "newest", "name")
MAX_QUERY_LENGTH = 256
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


class SearchParams(Struct, frozen=True, kw_only=True):
    """A validated search request; `attributes` maps an attribute name to the values OR-ed together."""

    q: str = ""
    category: str | None = None
    brands: tuple[str, ...] = ()
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    in_stock: bool | None = None
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    search_after: tuple[str | int | float | bool | None, ...] | None = None
    cursor_offset: int | None = None
    """Where a cursor of a grouped search continues (collapsed results page by offset, not search_after)."""
    group: bool = True
    """One item per product group (model); False lists every variant as an item of its own."""
    confined: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Filters the shopper did not choose and cannot widen (a scoped search key's): (facet name, values) pairs,
    `brand`, `category` or `attr.<name>`, each required in the query itself, so hits and every facet stay inside."""

    @property
    def offset(self) -> int:
        if self.cursor_offset is not None:
            return self.cursor_offset
        return 0 if self.search_after is not None else (self.page - 1) * self.per_page


class GroupSummary(Struct):
    """The model a grouped item stands for."""

    id: int
    code: str
    name: str
    variant_count: int
    """Its variants a shopper can see (active ones)."""
    matched_variants: list[str]
    """SKUs of its variants that match this query and these filters, best first."""


class PriceSpan(Struct):
    min: float
    max: float


class SearchItem(Struct, omit_defaults=True):
    """A product, or (`group` set) a model: then `sku`, `price`, `image` and `in_stock` are those of its best
    variant for this query and these filters, and `price_range` spans the variants that match."""

    id: int
    sku: str
    name: str
    brand: str | None
    price: float
    currency: str
    category_path: list[str]
    in_stock: bool
    available: int
    image: str | None
    highlights: dict[str, list[str]]
    """Matched fragments per field (`name`, `brand`, `description`), HTML-escaped, matches in `<em>`."""
    score: float | None
    group: GroupSummary | None = None
    price_range: PriceSpan | None = None


class FacetValue(Struct):
    value: str
    count: int


class CategoryFacetValue(Struct):
    value: str
    """The category path, usable as the `category` filter."""
    name: str
    count: int


class PriceRange(Struct, rename={"from_": "from"}):
    from_: Annotated[float | None, Meta(description="Inclusive lower bound")] = None
    to: Annotated[float | None, Meta(description="Exclusive upper bound")] = None
    count: int = 0


class PriceFacet(Struct):
    min: float | None
    max: float | None
    ranges: list[PriceRange]


class AvailabilityFacet(Struct):
    in_stock: int
    out_of_stock: int


class Facets(Struct):
    """Disjunctive counts: each facet applies every filter except its own."""

    brand: list[FacetValue]
    category: list[CategoryFacetValue]
    """Children of the selected category (or the top level), with product counts per subtree."""
    attributes: dict[str, list[FacetValue]]
    price: PriceFacet
    availability: AvailabilityFacet


class Relaxed(Struct):
    """The query as typed found nothing or fewer than a page, so it was loosened ("showing results for ...")."""

    dropped: list[str]
    """Query words (or synonym phrases) left out because no product matches them."""
    any_word: bool
    """True when items also match only some of the words: the words found nothing together (then any one word
    is enough), or fewer than a page (then about two thirds of them); products matching more words come first."""


class SearchResponse(Struct):
    query: str
    total: int
    page: int
    per_page: int
    items: list[SearchItem]
    facets: Facets
    did_you_mean: str | None
    """A better spelling found in the catalog, if any (asked when the exact words found fewer than a page)."""
    corrected: bool
    """True when the original query found nothing and `items` are the results of `did_you_mean`."""
    relaxed: Relaxed | None
    """Set when the query as typed (and corrected) came back short and `items` include partial matches."""
    next_cursor: str | None
    """Pass as `cursor` to get the next page (deep paging); null on the last page."""
    fresh: bool
    """False when `after_change` was given and the change was not yet searchable within the bound."""
    took_ms: float
    applied_rules: list[int] = []
    """The merchandising rules (`/search/rules`) that shaped this answer."""
    query_id: str = ""
    """This search's id: send it with `POST /search/events` when the shopper clicks or buys."""


class ProductSuggestion(Struct):
    id: int
    sku: str
    name: str
    brand: str | None


class CategorySuggestion(Struct):
    value: str
    name: str
    count: int


class SuggestResponse(Struct):
    query: str
    products: list[ProductSuggestion]
    brands: list[FacetValue]
    categories: list[CategorySuggestion]
    took_ms: float


SynonymTerm = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
SynonymTerms = Annotated[list[SynonymTerm], Meta(min_length=1, max_length=50)]
SynonymReplacements = Annotated[list[SynonymTerm], Meta(max_length=50)]


class SynonymCreate(Struct, forbid_unknown_fields=True):
    """Equivalents when `replacements` is empty (`["tv", "television"]`, at least two terms); otherwise
    one-way: a query for any of `terms` also finds `replacements` (`laptop => notebook`)."""

    terms: SynonymTerms
    replacements: SynonymReplacements = []


class SynonymRead(Struct):
    id: int
    terms: list[str]
    replacements: list[str]
    created_at: datetime
