"""The outbox consumer: creates, updates and deletes reach the index; nothing regresses or blocks."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from opensearchpy import NotFoundError, OpenSearch

from catalog.index_contract import generation_key
from catalog.settings import Settings
from indexer.bulk import Action, BulkWriter
from indexer.documents import build_documents
from indexer.mapping import alias_target
from indexer.options import IndexerOptions
from indexer.progress import change_is_searchable
from indexer.stream import OutboxConsumer
from indexer.verify import verify
from tests.helpers.catalog_rows import CatalogRows


def search_ids(os_client: OpenSearch, alias: str, query: dict[str, Any]) -> list[int]:
    """Ids found by a search (what a shopper would see), not a realtime get."""
    hits = os_client.search(index=alias, body={"query": query, "size": 100})["hits"]["hits"]
    return [int(h["_id"]) for h in hits]


def name_is(text: str) -> dict[str, Any]:
    """Every word of `text` in the name (the unique token alone would match other names of the test)."""
    return {"match": {"name": {"query": text, "operator": "and"}}}


def source(os_client: OpenSearch, alias: str, product_id: int) -> dict[str, Any] | None:
    try:
        return os_client.get(index=alias, id=str(product_id))["_source"]  # type: ignore[no-any-return]
    except NotFoundError:
        return None


def last_change(rows: CatalogRows, product_id: int) -> int:
    return int(rows.scalar("SELECT max(id) FROM outbox WHERE product_id = %s", (product_id,)))


def test_created_product_is_searchable_with_category_stock_and_attribute_facets(
    catalog_rows: CatalogRows, consumer: OutboxConsumer, os_client: OpenSearch, search_index: str, unique: str
) -> None:
    category = catalog_rows.category(f"electronics-{unique}/tv")
    product = catalog_rows.product(
        name=f"Zephyr {unique} OLED Televisions",
        brand="Lumière",
        category_id=category,
        attributes={"color": "black", "screen_size": 55, "hdr": True, "ports": ["hdmi", "usb"]},
    )
    catalog_rows.stock(product, on_hand=7, reserved=2)
    change = last_change(catalog_rows, product)
    assert not change_is_searchable(catalog_rows.conn, change)

    assert consumer.drain() >= 2

    assert change_is_searchable(catalog_rows.conn, change)
    # Searchable right away: processed_at is only set after a refresh made the batch visible.
    assert search_ids(os_client, search_index, name_is(f"zephyr {unique} television")) == [product]
    assert search_ids(os_client, search_index, {"term": {"brand.keyword": "Lumière"}}) == [product]
    doc = source(os_client, search_index, product)
    assert doc is not None
    assert doc["category_path"] == [f"electronics-{unique}", f"electronics-{unique}/tv"]
    assert doc["category_names"] == [f"Electronics {unique.title()}", "Tv"]
    assert sorted(doc["attr_pairs"]) == [
        "color=black",
        "hdr=true",
        "ports=hdmi",
        "ports=usb",
        "screen_size=55",
    ]
    assert doc["attr_numbers"] == {"screen_size": 55.0}
    assert (doc["available"], doc["in_stock"], doc["price"], doc["status"]) == (5, True, 19.99, "active")
    assert doc["version"] == catalog_rows.version(product)
    facets = os_client.search(
        index=search_index,
        body={
            "size": 0,
            "query": {"term": {"category_path": f"electronics-{unique}"}},
            "aggs": {"ports": {"terms": {"field": "attr_pairs", "include": "ports=.*"}}},
        },
    )
    assert {b["key"]: b["doc_count"] for b in facets["aggregations"]["ports"]["buckets"]} == {
        "ports=hdmi": 1,
        "ports=usb": 1,
    }


def test_updates_and_deletes_reach_the_index(
    catalog_rows: CatalogRows, consumer: OutboxConsumer, os_client: OpenSearch, search_index: str, unique: str
) -> None:
    product = catalog_rows.product(name=f"Kettle {unique}")
    consumer.drain()
    catalog_rows.update(product, name=f"Teapot {unique}", status="archived")
    consumer.drain()
    assert search_ids(os_client, search_index, name_is(f"kettle {unique}")) == []
    assert search_ids(
        os_client,
        search_index,
        {"bool": {"filter": [name_is(f"teapot {unique}"), {"term": {"status": "archived"}}]}},
    ) == [product]

    catalog_rows.stock(product, on_hand=0)
    consumer.drain()
    doc = source(os_client, search_index, product)
    assert doc is not None and doc["in_stock"] is False and doc["version"] == catalog_rows.version(product)

    catalog_rows.delete(product)
    consumer.drain()
    assert search_ids(os_client, search_index, name_is(f"teapot {unique}")) == []
    assert source(os_client, search_index, product) is None


def test_an_older_document_never_overwrites_a_newer_one(
    catalog_rows: CatalogRows, consumer: OutboxConsumer, os_client: OpenSearch, search_index: str, unique: str
) -> None:
    product = catalog_rows.product(name=f"Lamp {unique}")
    stale = build_documents(catalog_rows.conn, [product])[product]  # what a slow indexer read earlier
    catalog_rows.update(product, name=f"Lantern {unique}")
    consumer.drain()

    outcome = BulkWriter(os_client).write(search_index, [Action(product, stale["version"], stale)])

    assert outcome.written == 0 and outcome.superseded == 1
    doc = source(os_client, search_index, product)
    assert doc is not None and doc["name"] == f"Lantern {unique}"
    # Replaying every change again (e.g. after a crash) is a no-op too.
    catalog_rows.conn.execute("UPDATE outbox SET processed_at = NULL WHERE product_id = %s", (product,))
    consumer.drain()
    assert source(os_client, search_index, product) == doc
    # And a deleted product does not come back from a stale write.
    catalog_rows.delete(product)
    consumer.drain()
    BulkWriter(os_client).write(search_index, [Action(product, stale["version"] + 1, stale)])
    assert source(os_client, search_index, product) is None


def test_a_poison_document_is_dead_lettered_and_the_stream_continues(
    catalog_rows: CatalogRows, consumer: OutboxConsumer, os_client: OpenSearch, search_index: str, unique: str
) -> None:
    field = f"poison_{unique}"
    # The live index insists this attribute is a boolean; the product says 1.5.
    os_client.indices.put_mapping(
        index=search_index,
        body={"properties": {"attr_numbers": {"properties": {field: {"type": "boolean"}}}}},
    )
    poison = catalog_rows.product(name=f"Poison {unique}", attributes={field: 1.5})
    healthy = catalog_rows.product(name=f"Healthy {unique}")

    consumer.drain()

    letter = catalog_rows.conn.execute(
        "SELECT outbox_id, error, document->>'name' FROM dead_letters WHERE product_id = %s", (poison,)
    ).fetchall()
    assert len(letter) == 1
    assert letter[0][0] == last_change(catalog_rows, poison)
    assert "mapper_parsing_exception" in letter[0][1] and letter[0][2] == f"Poison {unique}"
    assert catalog_rows.scalar("SELECT count(*) FROM outbox WHERE processed_at IS NULL") == 0
    assert search_ids(os_client, search_index, name_is(f"healthy {unique}")) == [healthy]
    catalog_rows.delete(poison)  # leave no drift behind for other tests
    consumer.drain()


def test_indexing_goes_on_with_redis_down_and_bumps_the_generation_when_up(
    catalog_rows: CatalogRows,
    consumer: OutboxConsumer,
    os_client: OpenSearch,
    search_index: str,
    settings: Settings,
    unique: str,
) -> None:
    key = generation_key(search_index)
    live = redis.Redis.from_url(settings.redis_url)
    before = int(live.get(key) or 0)
    catalog_rows.product(name=f"Generation {unique}")
    consumer.drain()
    assert int(live.get(key) or 0) > before
    live.close()

    no_redis = settings.model_copy(update={"redis_port": 1})
    offline = OutboxConsumer(no_redis, IndexerOptions(batch_size=50))
    try:
        product = catalog_rows.product(name=f"Redisless {unique}")
        assert offline.drain() >= 1
    finally:
        offline.close()
    assert search_ids(os_client, search_index, name_is(f"redisless {unique}")) == [product]


def test_opensearch_unreachable_leaves_changes_queued_until_it_is_back(
    catalog_rows: CatalogRows,
    consumer: OutboxConsumer,
    os_client: OpenSearch,
    search_index: str,
    settings: Settings,
    unique: str,
) -> None:
    unreachable = settings.model_copy(update={"opensearch_port": 1})
    broken = OutboxConsumer(unreachable, IndexerOptions(batch_size=50, bulk_attempts=2, backoff_base=0.01))
    product = catalog_rows.product(name=f"Outage {unique}")  # the write itself succeeds
    try:
        with pytest.raises(Exception, match="bulk items still failing"):
            broken.process_batch()
        broken.record_failure("opensearch unreachable")
    finally:
        broken.close()
    change = last_change(catalog_rows, product)
    attempts, processed = catalog_rows.conn.execute(
        "SELECT attempts, processed_at FROM outbox WHERE id = %s", (change,)
    ).fetchone() or (None, None)
    assert attempts == 1 and processed is None

    consumer.drain()

    assert search_ids(os_client, search_index, name_is(f"outage {unique}")) == [product]
    assert verify(settings).drift == 0


def test_two_indexers_split_the_backlog_without_double_work(
    catalog_rows: CatalogRows, search_index: str, settings: Settings, unique: str
) -> None:
    products = [catalog_rows.product(name=f"Parallel {unique} {i}") for i in range(300)]
    for product in products[::3]:
        catalog_rows.update(product, description="touched")
    first_change = int(
        catalog_rows.scalar("SELECT min(id) FROM outbox WHERE product_id = %s", (products[0],))
    )
    consumers = [OutboxConsumer(settings, IndexerOptions(batch_size=25)) for _ in range(2)]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda c=c: counts.append(c.drain())) for c in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for c in consumers:
        c.close()

    assert sum(counts) >= 400
    assert (
        catalog_rows.scalar("SELECT max(attempts) FROM outbox WHERE id >= %s", (first_change,)) == 1
    )  # no row twice
    assert verify(settings).drift == 0


def test_verify_finds_missing_stale_and_extra_documents_and_repair_fixes_them(
    catalog_rows: CatalogRows,
    consumer: OutboxConsumer,
    os_client: OpenSearch,
    search_index: str,
    settings: Settings,
    unique: str,
) -> None:
    stale = catalog_rows.product(name=f"Drift {unique}")
    consumer.drain()
    missing = catalog_rows.product(name=f"Lost {unique}")
    catalog_rows.update(stale, name=f"Drifted {unique}")
    # Simulate changes lost on the way (marked done, never written).
    catalog_rows.conn.execute("UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL")
    extra = 10**12 + int(catalog_rows.scalar("SELECT count(*) FROM products"))
    os_client.index(
        index=search_index,
        id=str(extra),
        body={"id": extra, "name": "ghost"},
        version=3,
        version_type="external",
        refresh=True,
    )

    report = verify(settings)
    assert (report.missing, report.stale, report.extra) == (1, 1, 1)
    assert report.samples == {"missing": [missing], "stale": [stale], "extra": [extra]}

    repaired = verify(settings, repair=True)
    assert repaired.repaired == 3
    assert verify(settings).drift == 0
    assert alias_target(os_client, search_index) is not None
