"""Dashboard catalog pages (overview, inventory, pricing, catalog quality, and every page rendering) through
`streamlit.testing.v1.AppTest` against a seeded real database and search index.

Every figure checked here is recomputed in the test with its own plain SQL (not through db.analytics), so a
wrong aggregation in the dashboard fails the test. The demo seed only writes into an empty catalog and other
test modules write into the session database, so the dashboard gets its own database (and index alias),
seeded once for this module (`dashboard_db`, tests/dashboard/conftest.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from catalog.settings import Settings
from stack.postgres_server import drop_database
from tests.helpers.dashboard import (
    SEEDED_PRODUCTS,
    SUBTREE,
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
