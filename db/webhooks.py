"""Webhook endpoints, their deliveries, the worker's progress through the change log, stock.low thresholds.

psycopg `%(name)s` SQL, run by the API (SQLAlchemy `exec_driver_sql`) and by the delivery worker (plain psycopg).
A delivery is claimed with a lease (`lease_until`), so a worker that dies mid-send only delays it; the claim never
takes a product's delivery while an earlier one for the same endpoint and product is still pending, which keeps
deliveries in order per product.
"""

from __future__ import annotations

ENDPOINT_COLUMNS = "id, url, events, description, active, created_at, updated_at"

CREATE_ENDPOINT_SQL = f"""
INSERT INTO webhook_endpoints (url, events, secret, description, active, start_seq, created_by)
VALUES (%(url)s, %(events)s, %(secret)s, %(description)s, %(active)s, change_log_watermark(), %(actor)s)
RETURNING {ENDPOINT_COLUMNS}
"""
LIST_ENDPOINTS_SQL = f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY id"
GET_ENDPOINT_SQL = f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = %(id)s"
DELETE_ENDPOINT_SQL = "DELETE FROM webhook_endpoints WHERE id = %(id)s RETURNING id"
UPDATABLE = ("url", "events", "secret", "description", "active")


def update_endpoint_sql(fields: list[str]) -> str:
    """UPDATE of the named endpoint columns (each from the parameter of the same name)."""
    unknown = set(fields) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    return f"""
UPDATE webhook_endpoints SET {assignments}, updated_at = now() WHERE id = %(id)s RETURNING {ENDPOINT_COLUMNS}
"""


DELIVERY_COLUMNS = (
    "id, event, status, attempts, last_status, last_error, next_attempt_at, created_at, finished_at, product_id, "
    "commit_seq, change_id"
)
LIST_DELIVERIES_SQL = f"""
SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
WHERE endpoint_id = %(id)s AND (%(status)s::text IS NULL OR status = %(status)s::text) AND id < %(before)s
ORDER BY id DESC
LIMIT %(limit)s
"""

# --- fan-out: change log -> deliveries, in one transaction with the worker's progress -----------------------------

LOCK_PROGRESS_SQL = "SELECT commit_seq, change_id FROM webhook_progress FOR UPDATE"
ADVANCE_PROGRESS_SQL = (
    "UPDATE webhook_progress SET commit_seq = %(seq)s, change_id = %(id)s, updated_at = clock_timestamp()"
)
PROGRESS_SQL = "SELECT commit_seq FROM webhook_progress"
ACTIVE_ENDPOINTS_SQL = "SELECT id, events, start_seq FROM webhook_endpoints WHERE active"
ANY_ACTIVE_SQL = "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE active)"

# The threshold of each product: its own, else that of its nearest category that has one (NULL: the default).
THRESHOLDS_SQL = """
SELECT p.id, coalesce(
    (SELECT t.threshold FROM stock_thresholds t WHERE t.product_id = p.id),
    (SELECT t.threshold FROM stock_thresholds t
       JOIN categories c ON c.id = t.category_id
       JOIN categories pc ON pc.id = p.category_id
     WHERE pc.path = c.path OR pc.path LIKE c.path || '/%%'
     ORDER BY c.depth DESC LIMIT 1))
FROM products p WHERE p.id = ANY(%(ids)s)
"""

INSERT_DELIVERIES_SQL = """
INSERT INTO webhook_deliveries (endpoint_id, change_id, commit_seq, event, product_id, payload)
SELECT * FROM unnest(%(endpoints)s::bigint[], %(changes)s::bigint[], %(seqs)s::bigint[], %(events)s::text[],
                     %(products)s::bigint[], %(payloads)s::jsonb[])
ON CONFLICT (endpoint_id, change_id, event) DO NOTHING
"""

# --- delivery ---------------------------------------------------------------------------------------------------

# Due deliveries, at most `free` more per endpoint (its concurrency minus what this worker has in flight), each the
# oldest pending one of its product on that endpoint.
CANDIDATES_SQL = """
SELECT id FROM (
    SELECT d.id, d.endpoint_id,
           row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS rn
    FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.active
    WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()
      AND (d.lease_until IS NULL OR d.lease_until < clock_timestamp())
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries p
          WHERE p.endpoint_id = d.endpoint_id AND p.product_id = d.product_id AND p.status = 'pending'
            AND p.id < d.id)
) due
WHERE rn <= %(concurrency)s - coalesce((%(busy)s::jsonb ->> endpoint_id::text)::int, 0)
ORDER BY id
LIMIT %(limit)s
"""

# Re-checked row by row under its lock, so two workers never claim the same delivery.
CLAIM_SQL = """
UPDATE webhook_deliveries d
SET lease_until = clock_timestamp() + make_interval(secs => %(lease)s), attempts = d.attempts + 1
FROM webhook_endpoints e
WHERE d.id = ANY(%(ids)s) AND e.id = d.endpoint_id AND d.status = 'pending'
  AND (d.lease_until IS NULL OR d.lease_until < clock_timestamp())
RETURNING d.id, d.endpoint_id, e.url, e.secret, d.event, d.payload, d.attempts
"""

DELIVERED_SQL = """
UPDATE webhook_deliveries
SET status = 'delivered', finished_at = clock_timestamp(), lease_until = NULL, last_status = %(status)s,
    last_error = NULL
WHERE id = %(id)s
"""

# Another attempt after `delay` seconds, unless that would be past the retry window: then it has failed.
RETRY_SQL = """
UPDATE webhook_deliveries
SET lease_until = NULL, last_status = %(status)s, last_error = %(error)s,
    next_attempt_at = clock_timestamp() + make_interval(secs => %(delay)s),
    status = CASE WHEN clock_timestamp() + make_interval(secs => %(delay)s)
                       > created_at + make_interval(secs => %(window)s) THEN 'failed' ELSE 'pending' END,
    finished_at = CASE WHEN clock_timestamp() + make_interval(secs => %(delay)s)
                       > created_at + make_interval(secs => %(window)s) THEN clock_timestamp() END
WHERE id = %(id)s
RETURNING status
"""

NEXT_DUE_SQL = """
SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp()) FROM webhook_deliveries WHERE status = 'pending'
"""

PRUNE_DELIVERIES_SQL = """
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status <> 'pending' AND finished_at < clock_timestamp() - make_interval(days => %(days)s)
    LIMIT 5000)
"""
DELIVERY_RETENTION_DAYS = 30

# For the dashboard.
FAILED_DELIVERIES_SQL = """
SELECT d.id, e.url, d.event, d.product_id, d.attempts, d.last_status, d.last_error, d.created_at, d.finished_at
FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.status = 'failed'
ORDER BY d.finished_at DESC
LIMIT %(limit)s
"""
DELIVERY_COUNTS_SQL = """
SELECT e.id, e.url, e.active,
       count(*) FILTER (WHERE d.status = 'pending') AS pending,
       count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
       count(*) FILTER (WHERE d.status = 'failed') AS failed
FROM webhook_endpoints e LEFT JOIN webhook_deliveries d ON d.endpoint_id = e.id
GROUP BY e.id ORDER BY e.id
"""

# --- stock.low thresholds -----------------------------------------------------------------------------------------

LIST_THRESHOLDS_SQL = "SELECT id, product_id, category_id, threshold FROM stock_thresholds ORDER BY id"
UPSERT_PRODUCT_THRESHOLD_SQL = """
INSERT INTO stock_thresholds (product_id, threshold) VALUES (%(target)s, %(threshold)s)
ON CONFLICT (product_id) DO UPDATE SET threshold = excluded.threshold
RETURNING id, product_id, category_id, threshold
"""
UPSERT_CATEGORY_THRESHOLD_SQL = """
INSERT INTO stock_thresholds (category_id, threshold) VALUES (%(target)s, %(threshold)s)
ON CONFLICT (category_id) DO UPDATE SET threshold = excluded.threshold
RETURNING id, product_id, category_id, threshold
"""
DELETE_THRESHOLD_SQL = "DELETE FROM stock_thresholds WHERE id = %(id)s RETURNING id"
