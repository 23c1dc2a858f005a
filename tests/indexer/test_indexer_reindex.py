"""Index setup and `catalog reindex`: a new version is built and swapped in with every concurrent change."""

from __future__ import annotations

import random
import threading

from opensearchpy import OpenSearch

from catalog.settings import Settings
from indexer.mapping import alias_target, ensure_index, index_version, search_document_fields, template_name
from indexer.options import IndexerOptions
from indexer.reindex import reindex
from indexer.stream import OutboxConsumer
from indexer.verify import verify
from tests.helpers.catalog_rows import CatalogRows


def test_ensure_index_is_idempotent_and_fields_are_published(
    os_client: OpenSearch, search_index: str, settings: Settings
) -> None:
    first = ensure_index(os_client, settings)
    assert ensure_index(os_client, settings) == first == alias_target(os_client, search_index)
    assert index_version(search_index, first) is not None
    assert os_client.indices.exists_index_template(name=template_name(search_index))
    mapping = os_client.indices.get_mapping(index=first)[first]["mappings"]["properties"]
    fields = search_document_fields()
    assert {"price", "attr_pairs", "category_path", "autocomplete", "spell", "brand.keyword"} <= set(fields)
    assert mapping["price"] == {"type": "scaled_float", "scaling_factor": 100.0}
    assert set(mapping) == {name for name in fields if "." not in name}


def _keep_writing(rows: CatalogRows, stop: threading.Event, products: list[int], unique: str) -> None:
    """A merchandiser at work: creates, edits, restocks and deletes until told to stop."""
    rng = random.Random(7)
    n = 0
    while not stop.is_set():
        n += 1
        choice = rng.random()
        if choice < 0.3 or len(products) < 10:
            products.append(rows.product(name=f"Concurrent {unique} {n}"))
        elif choice < 0.6:
            rows.update(rng.choice(products), name=f"Renamed {unique} {n}")
        elif choice < 0.85:
            rows.stock(rng.choice(products), on_hand=rng.randint(0, 9))
        else:
            rows.delete(products.pop(rng.randrange(len(products))))


def test_reindex_under_concurrent_writes_has_zero_drift_after_the_swap(
    catalog_rows: CatalogRows, os_client: OpenSearch, search_index: str, settings: Settings, unique: str
) -> None:
    products = [catalog_rows.product(name=f"Seed {unique} {i}") for i in range(400)]
    streamer_stop, writer_stop = threading.Event(), threading.Event()
    streamer = OutboxConsumer(settings, IndexerOptions(batch_size=50, poll_interval=0.2), stop=streamer_stop)
    writer_rows = CatalogRows(settings.postgres_dsn)
    threads = [
        threading.Thread(target=streamer.run),
        threading.Thread(target=_keep_writing, args=(writer_rows, writer_stop, products, unique)),
    ]
    for thread in threads:
        thread.start()
    old = alias_target(os_client, search_index)
    loaded: list[int] = []
    try:
        result = reindex(settings, page_size=50, progress=lambda done, total: loaded.append(done))
    finally:
        writer_stop.set()
        threads[1].join()
        writer_rows.conn.close()
    try:
        catalog_rows.product(
            name=f"After {unique}"
        )  # one more, to be sure the streamer follows the new index
        while catalog_rows.scalar("SELECT count(*) FROM outbox WHERE processed_at IS NULL"):
            streamer_stop.wait(0.2)
    finally:
        streamer_stop.set()
        threads[0].join()
        streamer.close()

    assert result.old_index == old and alias_target(os_client, search_index) == result.new_index
    assert not os_client.indices.exists(index=old)
    assert loaded[-1] == result.documents >= 400
    assert result.replayed_changes > 0  # the writer really did write during the reindex
    report = verify(settings)
    assert report.drift == 0 and report.pending == 0
    assert report.postgres_count == report.opensearch_count
