"""Click, add-to-cart and purchase figures of logged searches (`search_queries` joined to `search_events` on
`query_id`), and the effect of each merchandising rule on click-through.

Only searches that carry a `query_id` count: events can refer to no other (searches logged before events existed
have none). Queries are grouped as the top-queries table does (trimmed, lower-cased). Every search is bounded by
its `created_at` (indexed); events are found by their `query_id` (indexed).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

import pandas as pd
from sqlalchemy import Engine

from db.analytics.common import MAX_ROWS, Filters, frame

MIN_SEARCHES: Final = 20
"""Fewer searches than this on either side of a rule's comparison is called "not enough data"."""
NOT_ENOUGH_DATA: Final = "not enough data"


def _bounds(f: Filters) -> dict[str, datetime | None]:
    """The date range as UTC instants (days are UTC days, as on every other page); None leaves a side open."""
    start = datetime.combine(f.start, time(), UTC) if f.start else None
    end = datetime.combine(f.end + timedelta(days=1), time(), UTC) if f.end else None
    return {"start": start, "end": end}


_IN_RANGE = ("q.query_id IS NOT NULL AND q.created_at >= coalesce(CAST(:start AS timestamptz), '-infinity') "
             "AND q.created_at < coalesce(CAST(:end AS timestamptz), 'infinity')")

# One row per search in range with what its answer got. An event follows its search, but the search's row is
# written a moment after its answer (buffered), so events are bounded a day before the range (created_at index).
_OUTCOMES = f"""
    SELECT lower(btrim(q.query)) AS query, q.result_count,
           coalesce(e.clicks, 0) AS clicks, e.position_sum, coalesce(e.positions, 0) AS positions,
           coalesce(e.carts, 0) AS carts, coalesce(e.purchases, 0) AS purchases, e.query_id IS NOT NULL AS any_event
    FROM search_queries q
    LEFT JOIN (
        SELECT query_id, count(*) FILTER (WHERE type = 'click') AS clicks,
               sum(position) FILTER (WHERE type = 'click') AS position_sum,
               count(position) FILTER (WHERE type = 'click') AS positions,
               count(*) FILTER (WHERE type = 'add_to_cart') AS carts,
               count(*) FILTER (WHERE type = 'purchase') AS purchases
        FROM search_events
        WHERE created_at >= coalesce(CAST(:start AS timestamptz) - interval '1 day', '-infinity')
        GROUP BY query_id
    ) e ON e.query_id = q.query_id
    WHERE {_IN_RANGE}
"""


def engagement_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    """tracked (searches with a query_id), ctr_pct, add_to_cart_pct, conversion_pct, mean_click_position."""
    row = frame(engine, f"""
        SELECT count(*) AS tracked, count(*) FILTER (WHERE clicks > 0) AS clicked,
               count(*) FILTER (WHERE carts > 0) AS carted, count(*) FILTER (WHERE purchases > 0) AS bought,
               (sum(position_sum) / nullif(sum(positions), 0))::float8 AS mean_click_position
        FROM ({_OUTCOMES}) o
    """, _bounds(f)).iloc[0].to_dict()
    tracked = int(row["tracked"])

    def pct(part: Any) -> float:
        return round(100 * int(part) / tracked, 1) if tracked else 0.0

    position = row["mean_click_position"]
    return {"tracked": tracked, "ctr_pct": pct(row["clicked"]), "add_to_cart_pct": pct(row["carted"]),
            "conversion_pct": pct(row["bought"]),
            "mean_click_position": None if pd.isna(position) else round(float(position), 2)}


def query_engagement(engine: Engine, f: Filters, limit: int = 25) -> pd.DataFrame:
    """Per query, most searched first: searches, ctr_pct (searches with a click), mean_click_position,
    add_to_cart_pct and conversion_pct (searches that led to one)."""
    return frame(engine, f"""
        SELECT query, count(*) AS searches,
               round(100.0 * count(*) FILTER (WHERE clicks > 0) / count(*), 1)::float8 AS ctr_pct,
               round(sum(position_sum)::numeric / nullif(sum(positions), 0), 2)::float8 AS mean_click_position,
               round(100.0 * count(*) FILTER (WHERE carts > 0) / count(*), 1)::float8 AS add_to_cart_pct,
               round(100.0 * count(*) FILTER (WHERE purchases > 0) / count(*), 1)::float8 AS conversion_pct
        FROM ({_OUTCOMES}) o
        GROUP BY query ORDER BY searches DESC, query LIMIT :limit
    """, _bounds(f) | {"limit": min(limit, MAX_ROWS)})


def no_click_queries(engine: Engine, f: Filters, limit: int = 25) -> pd.DataFrame:
    """Queries whose searches found results but got no event at all (no click, cart or purchase), most such
    searches first: searches (those), with_results (all its searches that found something), no_event_pct."""
    return frame(engine, f"""
        SELECT query, count(*) FILTER (WHERE NOT any_event) AS searches, count(*) AS with_results,
               round(100.0 * count(*) FILTER (WHERE NOT any_event) / count(*), 1)::float8 AS no_event_pct
        FROM ({_OUTCOMES}) o WHERE result_count > 0
        GROUP BY query HAVING count(*) FILTER (WHERE NOT any_event) > 0
        ORDER BY searches DESC, query LIMIT :limit
    """, _bounds(f) | {"limit": min(limit, MAX_ROWS)})


# Per rule: the searches it shaped since it took effect (its starts_at, else its creation) up to now or its end,
# and the searches of the same queries (as grouped above) in as long a time just before, that it did not shape.
_RULE_SEARCHES = """
WITH r AS (
    SELECT id, name, enabled, coalesce(starts_at, created_at) AS since,
           greatest(least(now(), coalesce(ends_at, now())), coalesce(starts_at, created_at)) AS until
    FROM search_rules
), applied AS (
    SELECT r.id AS rule_id, lower(btrim(q.query)) AS query, q.query_id
    FROM r JOIN search_queries q ON q.created_at >= r.since AND q.created_at < r.until
    WHERE q.query_id IS NOT NULL AND q.applied_rules @> ARRAY[r.id]
), before AS (
    SELECT r.id AS rule_id, q.query_id
    FROM r JOIN search_queries q ON q.created_at >= r.since - (r.until - r.since) AND q.created_at < r.since
    WHERE q.query_id IS NOT NULL AND NOT q.applied_rules @> ARRAY[r.id]
      AND lower(btrim(q.query)) IN (SELECT a.query FROM applied a WHERE a.rule_id = r.id)
), sides AS (
    SELECT rule_id, true AS with_rule, query_id FROM applied
    UNION ALL SELECT rule_id, false, query_id FROM before
)
SELECT r.id AS rule_id, r.name, r.enabled, r.since, r.until - r.since AS period,
       count(s.query_id) FILTER (WHERE s.with_rule) AS searches_with_rule,
       count(s.query_id) FILTER (WHERE s.with_rule AND c.clicked) AS clicked_with_rule,
       count(s.query_id) FILTER (WHERE NOT s.with_rule) AS searches_before,
       count(s.query_id) FILTER (WHERE NOT s.with_rule AND c.clicked) AS clicked_before
FROM r
LEFT JOIN sides s ON s.rule_id = r.id
LEFT JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM search_events e WHERE e.query_id = s.query_id AND e.type = 'click')
                   AS clicked) c ON true
GROUP BY r.id, r.name, r.enabled, r.since, r.until
ORDER BY r.id
"""


def _ctr(clicked: int, searches: int) -> float | None:
    return round(100 * clicked / searches, 1) if searches >= MIN_SEARCHES else None


def rule_effect(engine: Engine) -> pd.DataFrame:
    """Per rule: rule_id, name, enabled, since, days (the period compared), searches_with_rule, ctr_with_rule_pct,
    searches_before, ctr_before_pct, difference_pts and effect. A CTR is left empty, and the effect says
    "not enough data", when its side has fewer than MIN_SEARCHES searches."""
    rows = frame(engine, _RULE_SEARCHES)
    columns = ["rule_id", "name", "enabled", "since", "days", "searches_with_rule", "ctr_with_rule_pct",
               "searches_before", "ctr_before_pct", "difference_pts", "effect"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    after = [_ctr(int(c), int(n)) for c, n in zip(rows.clicked_with_rule, rows.searches_with_rule, strict=True)]
    before = [_ctr(int(c), int(n)) for c, n in zip(rows.clicked_before, rows.searches_before, strict=True)]
    difference = [None if a is None or b is None else round(a - b, 1) for a, b in zip(after, before, strict=True)]
    return rows.assign(
        days=[round(period.total_seconds() / 86400, 1) for period in pd.to_timedelta(rows.period)],
        ctr_with_rule_pct=pd.array(after, dtype="Float64"), ctr_before_pct=pd.array(before, dtype="Float64"),
        difference_pts=pd.array(difference, dtype="Float64"),
        effect=[NOT_ENOUGH_DATA if d is None else f"{d:+.1f} pts" for d in difference],
    )[columns]
