"""Dashboard pages through `streamlit.testing.v1.AppTest` against a seeded real database and search index.

Every figure checked here is recomputed in the test with its own plain SQL (not through db.analytics), so a
wrong aggregation in the dashboard fails the test. The demo seed only writes into an empty catalog and other
test modules write into the session database, so the dashboard gets its own database (and index alias),
seeded once for this module.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from catalog.settings import Settings, get_settings
from stack.postgres_server import drop_database
from tests.helpers.dashboard import (
    CLICK,
    RULE_DAYS_AGO,
    SEARCHES,
    SEEDED_PRODUCTS,
    SUBTREE,
    TRACKED,
    DashboardDatabase,
    SeededModel,
    chart,
    count,
    create_database,
    dashboard_env,
    metric,
    open_model,
    open_page,
    percent,
    scalar,
    sql,
    table,
)

PAGES = ("overview", "inventory", "pricing", "quality", "search_insights")
"""The pages with charts whatever is chosen (the search preview draws one once a search is typed)."""
ALL_PAGES = (*PAGES, "search_preview")


# --- every page ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_charts_without_exception(dashboard_db: DashboardDatabase, page: str) -> None:
    at = open_page(page)
    assert at.title and not at.error
    assert at.get("plotly_chart"), f"{page} shows no chart"


def test_empty_catalog_says_how_to_load_one(stack: Settings) -> None:
    name = f"{stack.postgres_db}_dashboard_empty"
    create_database(stack, name)
    try:
        with dashboard_env(name):
            for page in ALL_PAGES:
                at = open_page(page)
                assert any("catalog seed --products" in info.value for info in at.info), page
                assert not at.get("plotly_chart")
    finally:
        drop_database(stack, name)


# --- overview -------------------------------------------------------------------------------------------------------

READY = ("p.status = 'active' AND p.completeness = 100 AND p.price > 0 AND EXISTS (SELECT 1 FROM inventory i "
         "WHERE i.product_id = p.id AND i.on_hand > i.reserved)")
AVAILABLE = "(SELECT coalesce(sum(i.on_hand - i.reserved), 0) FROM inventory i WHERE i.product_id = p.id)"


def test_overview_kpis_equal_sql(dashboard_db: DashboardDatabase) -> None:
    dsn = dashboard_db.dsn
    changed_before = scalar(dsn, "SELECT count(*) FROM products WHERE updated_at >= now() - interval '24 hours'")
    at = open_page("overview")
    changed_after = scalar(dsn, "SELECT count(*) FROM products WHERE updated_at >= now() - interval '24 hours'")

    assert count(metric(at, "Products")) == SEEDED_PRODUCTS
    ready, live = sql(dsn, f"SELECT count(*) FILTER (WHERE {READY}), count(*) FILTER (WHERE status <> 'archived') "
                           "FROM products p")[0]
    assert percent(metric(at, "Ready to sell")) == round(100 * ready / live, 1)
    stock_outs = scalar(dsn, f"SELECT count(*) FROM products p WHERE status = 'active' AND {AVAILABLE} <= 0")
    assert count(metric(at, "Stock-outs")) == stock_outs > 0
    avg = scalar(dsn, "SELECT round(avg(completeness), 1) FROM products WHERE status <> 'archived'")
    assert percent(metric(at, "Average completeness")) == float(avg)
    assert count(metric(at, "Changed in the last 24 h")) in {changed_before, changed_after}
    value = scalar(dsn, "SELECT sum(i.on_hand * p.price) FROM inventory i JOIN products p ON p.id = i.product_id")
    assert metric(at, "Stock value (USD)") == f"{value:,.0f} USD"
    statuses = dict(sql(dsn, "SELECT status, count(*) FROM products GROUP BY status"))
    shown = table(at, "status")
    assert dict(zip(shown["status"], shown["products"], strict=True)) == statuses
    assert chart(at, "Products by status")["data"][0]["y"] == [statuses[s] for s in shown["status"]]


def test_overview_category_filter_covers_the_subtree_and_brand(dashboard_db: DashboardDatabase) -> None:
    dsn = dashboard_db.dsn
    brand = scalar(dsn, "SELECT brand FROM products p JOIN categories c ON c.id = p.category_id "
                        "WHERE c.path LIKE 'electronics/%%' GROUP BY brand ORDER BY count(*) DESC LIMIT 1")
    at = open_page("overview", filter_category="electronics")
    expected = scalar(dsn, f"SELECT count(*) FROM products WHERE category_id IN {SUBTREE}", {"c": "electronics"})
    assert count(metric(at, "Products")) == expected
    assert expected > scalar(dsn, "SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id "
                                  "WHERE c.path = 'electronics'")  # products sit in the leaves, not the branch
    at.selectbox(key="filter_brand").set_value(brand).run()
    both = scalar(dsn, f"SELECT count(*) FROM products WHERE category_id IN {SUBTREE} AND brand = %(b)s",
                  {"c": "electronics", "b": brand})
    assert count(metric(at, "Products")) == both > 0


# --- inventory ------------------------------------------------------------------------------------------------------


def test_inventory_figures_equal_sql(dashboard_db: DashboardDatabase) -> None:
    dsn = dashboard_db.dsn
    at = open_page("inventory")
    active, outs = sql(dsn, f"SELECT count(*), count(*) FILTER (WHERE {AVAILABLE} <= 0) FROM products p "
                            "WHERE status = 'active'")[0]
    assert percent(metric(at, "Stock-out rate")) == round(100 * outs / active, 1)
    available, reserved = sql(dsn, "SELECT sum(on_hand - reserved), sum(reserved) FROM inventory")[0]
    assert count(metric(at, "Units available")) == available
    assert count(metric(at, "Units reserved")) == reserved

    per_warehouse = table(at, "warehouse").set_index("warehouse")
    for code, on_hand, held, value in sql(dsn, """
            SELECT w.code, sum(i.on_hand), sum(i.reserved), sum(i.on_hand * p.price)
            FROM inventory i JOIN warehouses w ON w.id = i.warehouse_id JOIN products p ON p.id = i.product_id
            GROUP BY w.code"""):
        assert per_warehouse.loc[code, "on_hand"] == on_hand
        assert per_warehouse.loc[code, "reserved"] == held
        assert per_warehouse.loc[code, "stock_value"] == pytest.approx(float(value), abs=0.01)

    low = table(at, "sku")
    expected = sql(dsn, """
        SELECT p.sku, w.code, i.on_hand - i.reserved FROM inventory i JOIN products p ON p.id = i.product_id
        JOIN warehouses w ON w.id = i.warehouse_id WHERE p.status = 'active' AND i.on_hand - i.reserved <= 5
        ORDER BY 3, 1, 2 LIMIT 200""")
    assert list(zip(low["sku"], low["warehouse"], low["available"], strict=True)) == expected


def test_inventory_warehouse_filter_counts_stock_outs_there(dashboard_db: DashboardDatabase) -> None:
    dsn = dashboard_db.dsn
    warehouse_id, code = sql(dsn, "SELECT id, code FROM warehouses ORDER BY code LIMIT 1")[0]
    at = open_page("inventory", filter_warehouse=warehouse_id)
    active, outs = sql(dsn, """
        SELECT count(*), count(*) FILTER (WHERE coalesce((SELECT i.on_hand - i.reserved FROM inventory i
            WHERE i.product_id = p.id AND i.warehouse_id = %s), 0) <= 0)
        FROM products p WHERE status = 'active'""", (warehouse_id,))[0]
    assert percent(metric(at, "Stock-out rate")) == round(100 * outs / active, 1)
    shown = table(at, "warehouse")
    assert list(shown["warehouse"]) == [code]
    assert shown.loc[0, "stock_outs"] == outs


def test_inventory_model_view_shows_stock_per_variant_and_warehouse(dashboard_db: DashboardDatabase,
                                                                    seeded_model: SeededModel) -> None:
    dsn = dashboard_db.dsn
    at = open_model("inventory", seeded_model.code, seeded_model.id)
    models = table(at, "out_of_stock")
    assert list(models["code"]) == [seeded_model.code] and models.loc[0, "variants"] == 3
    stock = table(at, "color")
    expected = sql(dsn, """
        SELECT p.sku, p.attributes->>'color', w.code, coalesce(i.on_hand, 0), coalesce(i.reserved, 0)
        FROM products p CROSS JOIN warehouses w LEFT JOIN inventory i ON i.product_id = p.id AND i.warehouse_id = w.id
        WHERE p.group_id = %s ORDER BY p.sku, w.code""", (seeded_model.id,))
    assert list(zip(stock["sku"], stock["color"], stock["warehouse"], stock["on_hand"], stock["reserved"],
                    strict=True)) == expected
    assert list(stock["available"]) == [on_hand - reserved for *_, on_hand, reserved in expected]
    per_variant = dict(sql(dsn, "SELECT p.sku, coalesce(sum(i.on_hand - i.reserved), 0) FROM products p "
                                "LEFT JOIN inventory i ON i.product_id = p.id WHERE p.group_id = %s GROUP BY p.sku",
                           (seeded_model.id,)))
    assert stock.groupby("sku")["available"].sum().to_dict() == per_variant
    assert models.loc[0, "available"] == sum(per_variant.values())
    assert any(button.proto.label == "Download CSV" for button in at.get("download_button"))

    warehouse_id, code = sql(dsn, "SELECT id, code FROM warehouses ORDER BY code DESC LIMIT 1")[0]
    at.selectbox(key="filter_warehouse").set_value(warehouse_id).run()
    narrowed = table(at, "color")
    assert set(narrowed["warehouse"]) == {code} and len(narrowed) == 3


# --- pricing --------------------------------------------------------------------------------------------------------


def test_pricing_figures_equal_sql(dashboard_db: DashboardDatabase) -> None:
    dsn = dashboard_db.dsn
    at = open_page("pricing")
    currencies = table(at, "currency")
    products, avg, median = sql(dsn, "SELECT count(*), round(avg(price), 2), percentile_cont(0.5) WITHIN GROUP "
                                     "(ORDER BY price) FROM products WHERE price > 0 AND currency = 'USD'")[0]
    assert list(currencies["currency"]) == ["USD"]
    assert currencies.loc[0, "products"] == products
    assert currencies.loc[0, "avg_price"] == float(avg)
    assert currencies.loc[0, "median_price"] == pytest.approx(median, abs=0.005)

    window = "h.old_price > 0 AND h.changed_at >= %(start)s AND h.currency = h.old_currency"
    start = datetime.combine(date.today() - timedelta(days=90), datetime.min.time(), UTC)
    changes = scalar(dsn, f"SELECT count(*) FROM price_history h WHERE {window}", {"start": start})
    assert count(metric(at, "Price changes in range")) == changes > 0

    movers = table(at, "change_pct")
    top = sql(dsn, f"""
        SELECT p.sku, (array_agg(h.old_price ORDER BY h.changed_at, h.id))[1],
               (array_agg(h.new_price ORDER BY h.changed_at DESC, h.id DESC))[1]
        FROM price_history h JOIN products p ON p.id = h.product_id WHERE {window} GROUP BY p.sku""",
                  {"start": start})
    ranked = sorted(top, key=lambda row: (-abs(row[2] - row[1]) / row[1], row[0]))[:20]
    assert list(movers["sku"]) == [row[0] for row in ranked]
    assert movers.loc[0, "change_pct"] == float(round(100 * (ranked[0][2] - ranked[0][1]) / ranked[0][1], 2))

    box = chart(at, "Price distribution by category")["data"][0]
    medians = dict(sql(dsn, """
        SELECT split_part(c.path, '/', 1), percentile_cont(0.5) WITHIN GROUP (ORDER BY p.price)
        FROM products p JOIN categories c ON c.id = p.category_id WHERE p.price > 0 GROUP BY 1"""))
    for category, shown_median in zip(box["x"], box["median"], strict=True):
        if category in medians:
            assert shown_median == pytest.approx(medians[category])
    histogram = chart(at, "Price histogram")["data"][0]
    assert sum(histogram["y"]) == products


# --- catalog quality ------------------------------------------------------------------------------------------------


def test_quality_figures_equal_sql(dashboard_db: DashboardDatabase) -> None:
    dsn = dashboard_db.dsn
    at = open_page("quality")
    total, complete, avg = sql(dsn, "SELECT count(*), count(*) FILTER (WHERE completeness = 100), "
                                    "round(avg(completeness), 1) FROM products WHERE status <> 'archived'")[0]
    assert count(metric(at, "Incomplete products")) == total - complete > 0
    assert percent(metric(at, "Complete")) == round(100 * complete / total, 1)
    assert percent(metric(at, "Average completeness")) == float(avg)

    missing = chart(at, "Most-missing fields")["data"][0]
    expected = sql(dsn, "SELECT f, count(*) FROM products, unnest(missing_fields) f WHERE status <> 'archived' "
                        "GROUP BY f ORDER BY 2 DESC, 1 LIMIT 25")
    assert list(zip(missing["y"], missing["x"], strict=True)) == expected

    heat = chart(at, "Completeness by category")["data"][0]
    fashion = heat["y"].index("fashion")
    full = sql(dsn, f"SELECT count(*) FILTER (WHERE completeness = 100), count(*) FROM products "
                    f"WHERE status <> 'archived' AND category_id IN {SUBTREE}", {"c": "fashion"})[0]
    assert heat["z"][fashion][heat["x"].index("100")] == round(100 * full[0] / full[1], 1)

    worst = table(at, "missing_fields")
    expected_worst = sql(dsn, "SELECT sku, completeness, array_to_string(missing_fields, ', ') FROM products "
                              "WHERE status IN ('draft', 'active') AND completeness <= 99 ORDER BY completeness, id "
                              "LIMIT 100")
    assert list(zip(worst["sku"], worst["completeness"], worst["missing_fields"], strict=True)) == expected_worst
    assert at.get("download_button"), "the worst records can be exported"

    trend = chart(at, "Quality over time")["data"][0]
    assert trend["y"][-1] == float(scalar(dsn, "SELECT round(avg(completeness), 2) FROM products "
                                              "WHERE status <> 'archived'"))


def test_worst_records_filter_by_missing_field(dashboard_db: DashboardDatabase) -> None:
    at = open_page("quality", worst_missing_field="images")
    worst = table(at, "missing_fields")
    expected = sql(dashboard_db.dsn, "SELECT sku FROM products WHERE 'images' = ANY(missing_fields) "
                                     "AND status IN ('draft', 'active') ORDER BY completeness, id LIMIT 100")
    assert list(worst["sku"]) == [row[0] for row in expected]
    assert all("images" in fields for fields in worst["missing_fields"])


def test_quality_model_view_lists_a_models_variants_with_what_they_miss(dashboard_db: DashboardDatabase,
                                                                        seeded_model: SeededModel) -> None:
    dsn = dashboard_db.dsn
    at = open_model("quality", seeded_model.code, seeded_model.id)
    models = table(at, "complete_variants")
    variants, complete = sql(dsn, "SELECT count(*), count(*) FILTER (WHERE completeness = 100) FROM products "
                                  "WHERE group_id = %s AND status <> 'archived'", (seeded_model.id,))[0]
    assert list(zip(models["code"], models["variants"], models["complete_variants"], strict=True)) == [
        (seeded_model.code, variants, complete)] and (variants, complete) == (3, 1)
    assert models.loc[0, "complete_pct"] == round(100 * complete / variants, 2)

    shown = table(at, "color")
    expected = sql(dsn, "SELECT sku, attributes->>'color', completeness, array_to_string(missing_fields, ', ') "
                        "FROM products WHERE group_id = %s AND status <> 'archived' ORDER BY completeness, id",
                   (seeded_model.id,))
    assert list(zip(shown["sku"], shown["color"], shown["completeness"], shown["missing_fields"],
                    strict=True)) == expected
    assert shown.loc[2, "missing_fields"] == "" and shown.loc[0, "missing_fields"]
    assert "model_variants_csv" in {button.key for button in at.get("download_button")}

    at.checkbox(key="models_incomplete_only").check().run()
    assert list(table(at, "complete_variants")["code"]) == [seeded_model.code]  # one variant is incomplete


def test_duplicates_on_request_include_every_shared_gtin(dashboard_db: DashboardDatabase) -> None:
    at = open_page("quality")
    assert not [m for m in at.metric if m.label == "Duplicate groups"]  # not computed until asked
    at.button(key="find_duplicates").click().run()
    assert not at.exception
    groups = table(at, "reason")
    shown = {tuple(sorted(g["id"])) for _, g in groups[groups["reason"] == "same gtin"].groupby("group")}
    expected = {tuple(sorted(ids)) for (ids,) in sql(dashboard_db.dsn, """
        SELECT array_agg(id) FROM products GROUP BY attributes->>'gtin' HAVING count(*) > 1""")}
    assert shown == expected and expected
    assert count(metric(at, "Duplicate groups")) >= len(expected)


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
    from dashboard.search_analytics import MIN_SEARCHES, NOT_ENOUGH_DATA

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
    from api.opensearch import make_search_client
    from api.search import rules
    from db.session import async_session_factory, make_async_engine

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
    from api.search.rules import Pin, RuleCreate, When

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
