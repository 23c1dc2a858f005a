"""Import jobs (POST /products/import, `catalog import`): the uploaded file, progress and the per-row report.

A job is claimed with a lease, so a worker that dies mid-import leaves it to be picked up again; a non-atomic job
commits each chunk together with its progress, so the next worker resumes after the last committed chunk.
"""

from __future__ import annotations

JOB_COLUMNS = (
    "id, status, format, filename, dry_run, atomic, total_rows, processed_rows, created, updated, unchanged, "
    "rejected, errors, message, created_at, started_at, finished_at"
)

CREATE_JOB_SQL = f"""
INSERT INTO import_jobs (id, format, filename, dry_run, atomic, file, created_by)
VALUES (%(id)s, %(format)s, %(filename)s, %(dry_run)s, %(atomic)s, %(file)s, %(actor)s)
RETURNING {JOB_COLUMNS}
"""
NOTIFY_SQL = "SELECT pg_notify('catalog_imports', '')"
GET_JOB_SQL = f"SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = %(id)s"

# A queued job, or a running one whose worker's lease ran out.
CLAIM_JOB_SQL = """
UPDATE import_jobs SET status = 'running', started_at = coalesce(started_at, clock_timestamp()),
    lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE id = (
    SELECT id FROM import_jobs
    WHERE status = 'queued' OR status = 'running' AND lease_until < clock_timestamp()
    ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id
"""
CLAIM_ONE_SQL = """
UPDATE import_jobs SET status = 'running', started_at = coalesce(started_at, clock_timestamp()),
    lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE id = %(id)s AND (status = 'queued' OR status = 'running' AND lease_until < clock_timestamp())
RETURNING id
"""
LOAD_JOB_SQL = """
SELECT file, format, dry_run, atomic, processed_rows, created, updated, unchanged, rejected, errors, created_by
FROM import_jobs WHERE id = %(id)s
"""
TOTAL_SQL = "UPDATE import_jobs SET total_rows = %(total)s WHERE id = %(id)s"

# Progress and counts so far (and a longer lease); in the chunk's own transaction for a resumable job.
PROGRESS_SQL = """
UPDATE import_jobs SET processed_rows = %(processed)s, created = %(created)s, updated = %(updated)s,
    unchanged = %(unchanged)s, rejected = %(rejected)s, errors = %(errors)s,
    lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE id = %(id)s
"""
FINISH_SQL = """
UPDATE import_jobs SET status = %(status)s, message = %(message)s, processed_rows = %(processed)s,
    created = %(created)s, updated = %(updated)s, unchanged = %(unchanged)s, rejected = %(rejected)s,
    errors = %(errors)s, finished_at = clock_timestamp(), lease_until = NULL, file = NULL
WHERE id = %(id)s
"""

WAREHOUSES_SQL = "SELECT code, id FROM warehouses"
# The group each of these products is a variant of (products of their own are left out).
GROUP_OF_SKUS_SQL = """
SELECT lower(sku), group_id FROM products WHERE lower(sku) = ANY(%(skus)s) AND group_id IS NOT NULL
"""
RESERVED_SQL = """
SELECT lower(p.sku), i.warehouse_id, i.reserved FROM products p JOIN inventory i ON i.product_id = p.id
WHERE lower(p.sku) = ANY(%(skus)s) AND i.reserved > 0
"""
# Stock columns set on_hand per warehouse; rows whose quantity is already that are left alone (no audit, no event).
SET_STOCK_SQL = """
INSERT INTO inventory (product_id, warehouse_id, on_hand)
SELECT * FROM unnest(%(products)s::bigint[], %(warehouses)s::bigint[], %(on_hand)s::int[])
ON CONFLICT (product_id, warehouse_id) DO UPDATE SET on_hand = excluded.on_hand, updated_at = now()
WHERE inventory.on_hand IS DISTINCT FROM excluded.on_hand
RETURNING product_id
"""
