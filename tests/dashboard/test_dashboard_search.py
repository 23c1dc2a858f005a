"""Dashboard search pages (search insights: queries, clicks and conversions, rule effects, facets; the search
preview: ranking, pins and bad input) through `streamlit.testing.v1.AppTest` against a seeded real database and
search index.

Every figure checked here is recomputed in the test with its own plain SQL (not through db.analytics), so a
wrong aggregation in the dashboard fails the test. The demo seed only writes into an empty catalog and other
test modules write into the session database, so the dashboard gets its own database (and index alias),
seeded once for this module (`dashboard_db`, tests/dashboard/conftest.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from catalog.settings import Settings, get_settings
from tests.helpers.dashboard import (
    CLICK,
    RULE_DAYS_AGO,
    SEARCHES,
    SUBTREE,
    TRACKED,
    DashboardDatabase,
    chart,
    count,
    metric,
    open_page,
    percent,
    scalar,
    sql,
    table,
)

# --- search insights ------------------------------------------------------------------------------------------------


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def test_search_insights_equal_sql_and_index(dashboard_db: DashboardDatabase) -> None:
    logged = [(q.strip().lower(), n) for q, n, _, _, days in SEARCHES if days <= 90]
    logged += [(t.query.lower(), t.result_count) for t in TRACKED for _ in range(t.searches)]
    at = open_page("search_insights")
    assert count(metric(at, "Searches")) == len(logged)
    zero = sum(1 for _, n in logged if n == 0)
    assert percent(metric(at, "Zero-result rate")) == round(100 * zero / len(logged), 1)
    top = table(at, "avg_results")
    assert list(zip(top["query"], top["searches"], strict=True)) == _ranked(Counter(q for q, _ in logged))
    assert ("tv", 7) in list(zip(top["query"], top["searches"], strict=True))  # "TV " is the same query
    zero_queries = table(at, "searches", 1)
    assert list(zip(zero_queries["query"], zero_queries["searches"], strict=True)) == [
        ("flux capacitor", 3), ("gizmo", 2), ("unobtainium", 2)]
    facets = table(at, "value")  # the default facet: top-level categories, counted by the search index
    expected = dict(sql(dashboard_db.dsn, "SELECT split_part(c.path, '/', 1), count(*) FROM products p "
                                          "JOIN categories c ON c.id = p.category_id GROUP BY 1"))
    assert dict(zip(facets["value"], facets["products"], strict=True)) == expected


def test_search_insights_show_clicks_and_conversions_per_query(dashboard_db: DashboardDatabase) -> None:
    at = open_page("search_insights")
    searches = [events for t in TRACKED for events in [*t.events, *[()] * (t.searches - len(t.events))]]
    clicks = [position for events in searches for kind, position in events if kind == CLICK]
    assert percent(metric(at, "Click-through rate")) == round(
        100 * sum(1 for events in searches if any(kind == CLICK for kind, _ in events)) / len(searches), 1)
    assert percent(metric(at, "Conversion rate")) == round(100 * 1 / len(searches), 1)
    assert percent(metric(at, "Add-to-cart rate")) == round(100 * 1 / len(searches), 1)
    assert float(metric(at, "Mean click position")) == round(sum(clicks) / len(clicks), 2)

    per_query = table(at, "ctr_pct").set_index("query")
    # headphones: 2 of 4 searches clicked (positions 1, 3 and 2), one added to the cart, one bought.
    assert per_query.loc["headphones"].to_dict() == {"searches": 4, "ctr_pct": 50.0, "mean_click_position": 2.0,
                                                     "add_to_cart_pct": 25.0, "conversion_pct": 25.0}
    assert per_query.loc["jacket", "searches"] == 48 and per_query.loc["jacket", "ctr_pct"] == round(
        100 * 17 / 48, 1)  # "Jacket" and "jacket" are one query
    assert per_query.loc["socks", "ctr_pct"] == 0.0 and pd.isna(per_query.loc["socks", "mean_click_position"])
    assert "tv" not in per_query.index  # logged without a query_id: no event can refer to it

    no_click = table(at, "no_event_pct")
    assert list(zip(no_click["query"], no_click["searches"], no_click["with_results"], no_click["no_event_pct"],
                    strict=True)) == [("jacket", 31, 48, round(100 * 31 / 48, 1)), ("socks", 3, 3, 100.0),
                                      ("headphones", 2, 4, 50.0), ("scarf", 2, 3, round(100 * 2 / 3, 1))]
    assert "gizmo" not in set(no_click["query"])  # it found nothing: a zero-result query, not a no-click one
    exports = {button.key for button in at.get("download_button")}
    assert {"top_queries_csv", "zero_queries_csv", "query_engagement_csv", "no_click_queries_csv",
            "rule_effect_csv", "facet_csv"} <= exports


def test_search_insights_compare_each_rule_with_the_time_before_it(dashboard_db: DashboardDatabase) -> None:
    from db.analytics.engagement import MIN_SEARCHES, NOT_ENOUGH_DATA

    at = open_page("search_insights")
    effect = table(at, "ctr_with_rule_pct").set_index("name")
    jackets = effect.loc["Jackets first"]
    assert (jackets["searches_with_rule"], jackets["ctr_with_rule_pct"]) == (25, 40.0)  # 10 of 25 clicked
    assert (jackets["searches_before"], jackets["ctr_before_pct"]) == (20, 20.0)  # 4 of 20 (not the 3 older ones)
    assert jackets["difference_pts"] == 20.0 and jackets["effect"] == "+20.0 pts"
    assert jackets["days"] == pytest.approx(RULE_DAYS_AGO, abs=0.1)
    scarves = effect.loc["Scarves on sale"]
    assert scarves["searches_with_rule"] == 3 < MIN_SEARCHES and scarves["searches_before"] == 0
    assert pd.isna(scarves["ctr_with_rule_pct"]) and pd.isna(scarves["difference_pts"])
    assert scarves["effect"] == NOT_ENOUGH_DATA


def test_search_facets_follow_the_filters(dashboard_db: DashboardDatabase) -> None:
    at = open_page("search_insights", filter_category="fashion", facet_field="brand")
    facets = table(at, "value")
    expected = sql(dashboard_db.dsn, f"SELECT brand, count(*) FROM products WHERE category_id IN {SUBTREE} "
                                     "AND brand IS NOT NULL GROUP BY brand ORDER BY 2 DESC, 1 LIMIT 25",
                   {"c": "fashion"})
    assert dict(zip(facets["value"], facets["products"], strict=True)) == dict(expected)


def test_filters_survive_moving_between_pages(dashboard_db: DashboardDatabase) -> None:
    at = open_page("overview", filter_category="fashion")
    fashion = count(metric(at, "Products"))
    at.switch_page("views/quality.py").run()
    assert at.selectbox(key="filter_category").value == "fashion"
    expected = scalar(dashboard_db.dsn, f"SELECT count(*) FROM products WHERE status <> 'archived' "
                                        f"AND category_id IN {SUBTREE}", {"c": "fashion"})
    assert count(metric(at, "Products checked")) == expected
    assert expected < fashion  # archived products are left out of quality figures


# --- search preview ---------------------------------------------------------------------------------------------


def open_preview(q: str, attributes: str = "") -> AppTest:
    at = open_page("search_preview")
    assert any("Type a query" in info.value for info in at.info) and not at.get("plotly_chart")
    if attributes:
        at.text_area(key="preview_attributes").input(attributes).run()
    at.text_input(key="preview_q").input(q).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


async def _create_rule(settings: Settings, data: Any) -> int:
    """A rule written as `POST /search/rules` writes it (validated, its query analysed by the index)."""
    from db.session import async_session_factory, make_async_engine
    from search import rules
    from search.client import make_search_client

    engine = make_async_engine(settings)
    client = make_search_client(settings)
    try:
        async with async_session_factory(engine)() as session, session.begin():
            return (await rules.create_rule(session, client, data, None)).id
    finally:
        await client.close()
        await engine.dispose()


def _common_word(dsn: str) -> str:
    """A word many active products have in their name (so a page of results, the last not first)."""
    return str(scalar(dsn, """
        SELECT lower(w) FROM products, regexp_split_to_table(name, '\\s+') w
        WHERE status = 'active' AND length(w) >= 4 AND w ~ '^[A-Za-z]+$'
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""))


def test_search_preview_shows_the_pinned_product_first_and_names_the_rule(dashboard_db: DashboardDatabase) -> None:
    from search.rules import Pin, RuleCreate, When

    word = _common_word(dashboard_db.dsn)
    at = open_preview(word)
    before = table(at, "text_match")
    assert len(before) == 20 and not before["pinned"].any()
    assert list(before["position"]) == list(range(1, 21))
    assert before["score"].is_monotonic_decreasing  # ranked by score when nothing is pinned
    assert (before["factors"] != "").any() and before["text_match"].notna().all()
    assert any("No merchandising rule fired" in caption.value for caption in at.caption)
    assert chart(at, "Score by position")["data"][0]["x"] == list(before["score"])
    last = before.iloc[-1]
    name, stocked = sql(dashboard_db.dsn, "SELECT name, EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = p.id "
                                          "AND i.on_hand > i.reserved) FROM products p WHERE sku = %s",
                        (last["sku"],))[0]
    assert (last["name"], bool(last["in_stock"])) == (name, stocked)

    rule_id = asyncio.run(_create_rule(get_settings(), RuleCreate(
        name="Dashboard pin", when=When(query=word), pin=[Pin(sku=str(last["sku"]), position=1)])))
    at.run()
    assert not at.exception
    after = table(at, "text_match")
    assert after.loc[0, "sku"] == last["sku"] and after.loc[0, "pinned"]
    assert after.loc[0, "factors"] == f"pinned by rule {rule_id}" and pd.isna(after.loc[0, "score"])
    assert list(after["sku"][1:]) == list(before["sku"][:-1])  # the rest keep their order, one place down
    fired = table(at, "rule_id")
    assert list(zip(fired["rule_id"], fired["name"], strict=True)) == [(rule_id, "Dashboard pin")]
    assert count(metric(at, "Rules fired")) == 1


def test_search_preview_explains_bad_input_and_an_unreachable_index(dashboard_db: DashboardDatabase,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_preview("shirt", attributes="color")
    assert any("not `name=value`" in error.value for error in at.error)
    at.text_area(key="preview_attributes").input("Color=red").run()
    assert not at.exception and any("attr.Color" in error.value for error in at.error)  # names are lowercase

    monkeypatch.setenv("CATALOG_OPENSEARCH_PORT", "1")  # nothing listens there
    get_settings.cache_clear()
    try:
        at.text_area(key="preview_attributes").input("").run()
        assert not at.exception
        assert any(error.value.startswith("Search unavailable") for error in at.error)
    finally:
        monkeypatch.delenv("CATALOG_OPENSEARCH_PORT")
        get_settings.cache_clear()
