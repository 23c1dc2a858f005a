"""Indexer throughput: drain an N-change outbox backlog vs a raw `_bulk` of the same documents; full reindex.

    .venv/bin/python bench/indexer_throughput.py --products 100000

Prints docs/s of the indexer (claim, build from PostgreSQL, _bulk with external versions, refresh,
mark processed) next to docs/s of posting the very same documents from an NDJSON file straight to
`_bulk` (the engine's ceiling), their ratio, the full reindex time, and the indexer's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from indexer_common import peak_rss_mb, prepare, seed, use_bench_environment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000, help="backlog size (products created)")
    parser.add_argument(
        "--batch-size", type=int, default=500, help="outbox rows per batch / docs per raw bulk"
    )
    parser.add_argument("--database", default="catalog_bench_indexer")
    parser.add_argument("--alias", default="bench_products")
    parser.add_argument(
        "--workers", type=int, default=2, help="indexer consumers (as `indexer run --workers`)"
    )
    parser.add_argument("--skip-reindex", action="store_true")
    args = parser.parse_args()
    use_bench_environment(args.database, args.alias)

    import psycopg

    from catalog.settings import get_settings
    from indexer.bulk import Action, encode
    from indexer.client import make_client
    from indexer.documents import iter_document_pages
    from indexer.mapping import ensure_index, index_name
    from indexer.options import IndexerOptions
    from indexer.reindex import reindex
    from indexer.stream import OutboxConsumer

    settings = get_settings()
    prepare(settings)
    client = make_client(settings, timeout=120)
    ensure_index(client, settings)
    print(f"seeding {args.products} products (backlog of {args.products} outbox changes) ...")
    seed(settings, args.products)
    rss_before = peak_rss_mb()

    consumers = [
        OutboxConsumer(settings, IndexerOptions(batch_size=args.batch_size)) for _ in range(args.workers)
    ]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda c=c: counts.append(c.drain())) for c in consumers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain_s = time.perf_counter() - started
    changes = sum(counts)
    for consumer in consumers:
        consumer.close()
    indexer_rate = changes / drain_s
    rss_after = peak_rss_mb()

    # The same documents, as a file, straight into _bulk (same request size, no refresh per request).
    raw_index = index_name(args.alias, 9999)
    client.indices.create(index=raw_index)
    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", delete=False) as out:
        with psycopg.connect(settings.postgres_dsn) as conn:
            for page in iter_document_pages(conn, args.batch_size):
                for doc in page:
                    out.write(encode(raw_index, Action(doc["id"], int(doc["version"]), doc)))
        path = Path(out.name)
    lines = path.read_bytes().splitlines(keepends=True)
    bodies = [b"".join(lines[i : i + 2 * args.batch_size]) for i in range(0, len(lines), 2 * args.batch_size)]
    started = time.perf_counter()
    for body in bodies:
        response = client.bulk(body=body)
        assert not response["errors"], json.dumps(response)[:500]
    client.indices.refresh(index=raw_index)
    raw_s = time.perf_counter() - started
    raw_rate = (len(lines) // 2) / raw_s
    client.indices.delete(index=raw_index)
    path.unlink()

    print(
        f"indexer drain : {changes} changes in {drain_s:.1f} s = {indexer_rate:,.0f} docs/s "
        f"(batch {args.batch_size}, {args.workers} workers)"
    )
    print(
        f"raw _bulk     : {len(lines) // 2} docs in {raw_s:.1f} s = {raw_rate:,.0f} docs/s (same documents)"
    )
    print(f"ratio         : indexer / raw = {indexer_rate / raw_rate:.2f}")
    print(
        f"peak RSS      : {rss_before:.0f} MB before drain, {rss_after:.0f} MB after "
        f"(+{rss_after - rss_before:.0f} MB for a backlog of {changes})"
    )
    if not args.skip_reindex:
        result = reindex(settings, IndexerOptions(batch_size=args.batch_size))
        print(
            f"full reindex  : {result.documents} products in {result.seconds:.1f} s = "
            f"{result.documents / result.seconds:,.0f} docs/s ({result.old_index} -> {result.new_index})"
        )
    client.close()


if __name__ == "__main__":
    main()
