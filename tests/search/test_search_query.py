"""The pure search builders: text query safety, synonyms, filters, disjunctive facets, cursors, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog.errors import InvalidInput
from search import cache, cursors, facets, query, service, validation
from search.schemas import SearchParams
from search.synonyms import build_expansions


def leaves(body: Any, kind: str) -> list[Any]:
    """Every clause of type `kind` anywhere in a body."""
    found: list[Any] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key == kind:
                found.append(value)
            found += leaves(value, kind)
    elif isinstance(body, list):
        for value in body:
            found += leaves(value, kind)
    return found


def params(**overrides: Any) -> SearchParams:
    base: dict[str, Any] = {"q": None, "category": None, "brand": None, "price_min": None, "price_max": None,
                            "in_stock": None, "sort": "relevance", "page": 1, "per_page": 20, "cursor": None}
    base.update(overrides)
    return validation.build_params(**base)


def test_query_syntax_characters_are_plain_text_never_query_string() -> None:
    body = query.search_body(params(q='"(*:)\\ AND title:x OR *'), facet_keys=[])
    encoded = json.dumps(body)
    assert "query_string" not in encoded
    assert query.tokenize('"(*:)\\ AND title:x OR *') == ["and", "title", "x", "or"]
    assert not leaves(body, "wildcard") and not leaves(body, "regexp")


def test_words_in_attribute_values_match_as_text() -> None:
    clause = query._word_match("wireless", fuzzy=False)
    assert "attr_text^3" in leaves(clause, "multi_match")[0]["fields"]


def test_sku_is_matched_exactly_and_never_fuzzed() -> None:
    body = query.text_query("ABC-123")
    exact = leaves(body, "term")
    assert {"sku": {"value": "ABC-123"}} in exact and {"sku.compact": {"value": "ABC-123"}} in exact
    assert leaves(body, "constant_score")[0]["boost"] == query.EXACT_BOOST
    for multi in leaves(body, "multi_match"):
        if "fuzziness" in multi:
            assert not any(field.startswith("sku") for field in multi["fields"])


def test_every_word_must_match_and_name_outweighs_brand_and_description() -> None:
    body = query.text_query("red kettle")
    must = leaves(body, "must")[0]
    assert len(must) == 2
    weights = {field.split("^")[0]: float(field.split("^")[1]) for field in query.EXACT_FIELDS}
    assert weights["name"] > weights["brand"] > weights["attr_text"] > weights["description"]


def test_synonyms_expand_equivalents_both_ways_and_one_way_rules_one_way() -> None:
    expansions = build_expansions([(["TV", "television"], []), (["laptop"], ["notebook"])])
    assert expansions == {"tv": ("television",), "television": ("tv",), "laptop": ("notebook",)}
    body = json.dumps(query.text_query("cheap laptop", expansions))
    assert '"notebook"' in body
    assert '"laptop"' not in json.dumps(query.text_query("notebook", expansions))


def test_multi_word_synonyms_are_grouped() -> None:
    expansions = build_expansions([(["smart phone", "smartphone"], [])])
    assert query.group_terms(["new", "smart", "phone"], expansions) == [
        ("new", ()), ("smart phone", ("smartphone",))]


def test_filters_but_the_category_go_to_post_filter_and_each_facet_skips_only_its_own_filter() -> None:
    p = params(brand=["B", "A"], category="tv", in_stock=True,
               attributes=[("attr.color", "red"), ("attr.color", "blue"), ("attr.size", "m")])
    body = query.search_body(p, facet_keys=["color", "size"])
    post = body["post_filter"]["bool"]["filter"]
    assert {"terms": {"brand.keyword": ["A", "B"]}} in post
    assert {"terms": {"attr_pairs": ["color=blue", "color=red"]}} in post
    assert {"terms": {"attr_pairs": ["size=m"]}} in post
    brand_filters = json.dumps(body["aggs"]["brand"]["filter"])
    assert "brand.keyword" not in brand_filters and "color=red" in brand_filters
    color_filters = json.dumps(body["aggs"]["attr.color"]["filter"])
    assert "color=red" not in color_filters and "size=m" in color_filters and "brand.keyword" in color_filters
    # The category scopes the query itself (its facet lists only the chosen category's children).
    assert body["query"]["bool"]["filter"] == [{"term": {"status": "active"}}, {"term": {"category_path": "tv"}}]
    assert "category_path" not in json.dumps(body["post_filter"])


def test_without_filters_facets_are_plain_aggregations() -> None:
    body = query.search_body(params(), facet_keys=["color"])
    assert "post_filter" not in body
    assert body["aggs"]["brand"] == {"terms": {"field": "brand.keyword", "size": facets.BRAND_SIZE}}
    assert body["aggs"]["attr.color"]["terms"]["include"] == "color=.*"


def test_category_facet_lists_children_of_the_selected_category() -> None:
    assert facets.category_children_regex(None) == "[^/]+"
    assert facets.category_children_regex("home-garden/kitchen") == "home-garden/kitchen/[^/]+"


def test_relevance_sort_is_the_score_with_availability_inside_it() -> None:
    body = query.search_body(params(q="kettle"), facet_keys=[])
    assert body["sort"] == [{"_score": "desc"}, {"id": "asc"}]
    assert {"filter": {"term": {"in_stock": True}}, "weight": query.IN_STOCK_WEIGHT} in leaves(body, "functions")[0]
    assert body["track_scores"] is True
    assert "suggest" not in body  # the first pass is exact and asks for no spelling
    tolerant = query.search_body(params(q="kettle"), facet_keys=[], matching=query.TYPO_TOLERANT, with_suggest=True)
    assert tolerant["suggest"]["did_you_mean"]["phrase"]["field"] == "spell"


def test_cursor_round_trips_and_replaces_from() -> None:
    cursor = cursors.encode_cursor("price_asc", [19.99, 42])
    p = params(sort="price_asc", cursor=cursor, page=3)
    body = query.search_body(p, facet_keys=[])
    assert body["search_after"] == [19.99, 42] and "from" not in body


@pytest.mark.parametrize(("overrides", "field"), [
    ({"sort": "cheapest"}, "sort"),
    ({"per_page": 101}, "per_page"),
    ({"page": 0}, "page"),
    ({"page": 501, "per_page": 20}, "page"),
    ({"q": "x" * 257}, "q"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": cursors.encode_cursor("name", ["a", 1])}, "cursor"),
    ({"price_min": 10.0, "price_max": 5.0}, "price_min"),
    ({"attributes": [("attr.Bad-Name", "x")]}, "attr.Bad-Name"),
])
def test_bad_parameters_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        params(**overrides)
    assert field in caught.value.details["fields"]


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        validation.refuse_unknown(["q", "colour", "attr.color"], validation.SEARCH_PARAMS, attributes=True)
    assert list(caught.value.details["fields"]) == ["colour"]


def test_equal_requests_share_a_cache_identity() -> None:
    a = params(q="Red  Kettle", brand=["B", "A"])
    b = params(q="red kettle", brand=["A", "B", "A"])
    assert service.cache_identity(a) == service.cache_identity(b)
    assert service.cache_identity(a) != service.cache_identity(params(q="red kettle", brand=["A"]))


def test_a_cached_value_is_used_only_under_the_generations_it_was_computed_under() -> None:
    stored = cache.stamp(("7", "2")) + b'{"total":1}'
    assert cache.current_payload(stored, ("7", "2")) == b'{"total":1}'
    assert cache.current_payload(stored, ("8", "2")) is None  # the index moved on
    assert cache.current_payload(stored, ("7", "3")) is None  # a synonym changed
    assert cache.current_payload(stored, ("77", "2")) is None
    assert cache.current_payload(None, ("7", "2")) is None


def test_query_words_are_cut_like_the_index_cuts_them() -> None:
    """A decimal or dotted word stays whole, as the standard tokenizer indexes it ("10" never matches "10.9")."""
    assert query.tokenize('Air TV-C4976 10.9" 64GB, 1,5 L u.s.a. don\'t') == [
        "air", "tv", "c4976", "10.9", "64gb", "1,5", "l", "u.s.a", "don't"]


def test_category_and_brand_words_multiply_the_score_but_never_filter() -> None:
    body = query.text_query("samsung tv", {"tv": ("television",)})
    (scored,) = leaves(body, "function_score")
    assert scored["boost_mode"] == scored["score_mode"] == "multiply"
    weights = [fn["weight"] for fn in scored["functions"]]  # a category and a brand factor per word, then stock
    assert weights == [query.CATEGORY_WEIGHT, query.BRAND_WEIGHT] * 2 + [query.IN_STOCK_WEIGHT]
    tv = scored["functions"][2]["filter"]["bool"]["should"]
    assert [m["match"]["category_names"]["query"] for m in tv] == ["tv", "television"]
    tv_brand = scored["functions"][3]["filter"]["bool"]["should"]
    assert [m["match"]["brand"]["query"] for m in tv_brand] == ["tv", "television"]
    assert "filter" not in scored["query"]["bool"]  # a factor on what matched anyway, never a condition


def test_the_first_pass_is_exact_and_typos_come_only_with_the_second() -> None:
    first = json.dumps(query.search_body(params(q="red kettle"), facet_keys=[], matching=query.EXACT))
    assert "fuzziness" not in first and "suggest" not in first
    tolerant = json.dumps(query.search_body(params(q="red kettle"), facet_keys=[], matching=query.TYPO_TOLERANT))
    assert '"fuzziness"' in tolerant


def test_the_probe_after_a_short_answer_scores_nothing_and_fetches_no_hits_or_facets() -> None:
    probe = query.probe_bodies(params(q="red kettle", brand=["Acme"]), {}, widen=query.WIDENED, dead_end=True)
    assert set(probe) == {query.TOLERANT, query.WIDE, query.SCOPE, f"{query.WORD}red", f"{query.WORD}kettle"}
    for body in probe.values():
        assert body["size"] == 0 and set(body["query"]["bool"]) == {"filter"} and "highlight" not in body
        assert "aggs" not in body
    assert all(probe[name]["terminate_after"] == 1 for name in (query.SCOPE, f"{query.WORD}red"))  # yes or no
    scope = json.dumps(probe[query.SCOPE]["query"])
    assert "brand.keyword" in scope and "kettle" not in scope  # the filters alone, whatever the words
    kettle = json.dumps(probe[f"{query.WORD}kettle"])
    assert "kettle" in kettle and "red" not in kettle
    assert "suggest" in probe[query.TOLERANT]
    short = query.probe_bodies(params(q="red kettle"), {}, widen=query.WIDENED_EXACT, dead_end=False)
    assert set(short) == {query.TOLERANT, query.WIDE} and "suggest" not in short[query.TOLERANT]  # no spelling asked


def test_attribute_facets_without_a_filter_of_their_own_share_one_aggregation() -> None:
    p = params(brand=["A"], attributes=[("attr.size", "m")])
    aggs = query.search_body(p, facet_keys=["color", "material", "size"])["aggs"]
    assert "attr.color" not in aggs and "attr.material" not in aggs
    shared = aggs[facets.ATTRIBUTES_AGG]
    assert shared["aggs"]["f"]["terms"]["include"] == "(color|material)=.*"
    assert "size=m" in json.dumps(shared["filter"]) and "brand.keyword" in json.dumps(shared["filter"])
    assert "size=m" not in json.dumps(aggs["attr.size"]["filter"])  # disjunctive: not under its own filter

    response = {facets.ATTRIBUTES_AGG: {"f": {"buckets": [
        {"key": "color=red", "doc_count": 9}, {"key": "material=steel", "doc_count": 7},
        {"key": "color=blue=ish", "doc_count": 5}]}},
        "attr.size": {"f": {"buckets": [{"key": "size=m", "doc_count": 4}]}}}
    parsed = facets.parse(response, ["color", "material", "size"], {})
    assert {key: [(v.value, v.count) for v in values] for key, values in parsed.attributes.items()} == {
        "color": [("red", 9), ("blue=ish", 5)], "material": [("steel", 7)], "size": [("m", 4)]}
