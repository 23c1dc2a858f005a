"""`catalog verify [--repair]`: compare every product's version in PostgreSQL and OpenSearch, page by page.

Both sides are streamed sorted by product id and merge-joined, so memory stays one page per side.
Candidates are re-checked before they count as drift: a product whose change is still in the outbox
is `pending` (the indexer will get to it), not drift; so a verify during writes does not cry wolf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from opensearchpy import OpenSearch
from psycopg import Connection

from catalog import index_contract as doc
from catalog.settings import Settings
from indexer.bulk import Action, BulkWriter
from indexer.client import make_client
from indexer.documents import build_documents

SAMPLE = 20
Versions = dict[int, int]


@dataclass
class DriftReport:
    postgres_count: int = 0
    opensearch_count: int = 0
    missing: int = 0  # in PostgreSQL, not in OpenSearch
    stale: int = 0  # in both, OpenSearch has another version
    extra: int = 0  # in OpenSearch, gone from PostgreSQL
    pending: int = 0  # differs, but a change for it is still queued in the outbox
    repaired: int = 0
    samples: dict[str, list[int]] = field(default_factory=lambda: {"missing": [], "stale": [], "extra": []})

    @property
    def drift(self) -> int:
        return self.missing + self.stale + self.extra

    def _note(self, kind: str, product_id: int) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.samples[kind]) < SAMPLE:
            self.samples[kind].append(product_id)


def iter_postgres_versions(conn: Connection[Any], page_size: int) -> Iterator[tuple[int, int]]:
    after = 0
    while True:
        rows = conn.execute(
            "SELECT id, version FROM products WHERE id > %s ORDER BY id LIMIT %s", (after, page_size)
        ).fetchall()
        if not rows:
            return
        yield from ((int(i), int(v)) for i, v in rows)
        after = rows[-1][0]


def iter_opensearch_versions(client: OpenSearch, alias: str, page_size: int) -> Iterator[tuple[int, int]]:
    search_after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": page_size,
            "sort": [{doc.ID: "asc"}],
            "_source": False,
            "version": True,
            "query": {"match_all": {}},
        }
        if search_after is not None:
            body["search_after"] = search_after
        hits = client.search(index=alias, body=body)["hits"]["hits"]
        if not hits:
            return
        yield from ((int(h["_id"]), int(h["_version"])) for h in hits)
        search_after = hits[-1]["sort"]


def merge_versions(
    pg: Iterator[tuple[int, int]], os_: Iterator[tuple[int, int]], report: DriftReport
) -> Iterator[int]:
    """Yield ids whose versions differ (or exist on one side only); count both sides in `report`."""
    sentinel = (1 << 63, 0)
    a, b = next(pg, sentinel), next(os_, sentinel)
    while a is not sentinel or b is not sentinel:
        if a[0] == b[0]:
            report.postgres_count += 1
            report.opensearch_count += 1
            if a[1] != b[1]:
                yield a[0]
            a, b = next(pg, sentinel), next(os_, sentinel)
        elif a[0] < b[0]:
            report.postgres_count += 1
            yield a[0]
            a = next(pg, sentinel)
        else:
            report.opensearch_count += 1
            yield b[0]
            b = next(os_, sentinel)


def _chunks(ids: Iterator[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for product_id in ids:
        chunk.append(product_id)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class Verifier:
    conn: Connection[Any]
    client: OpenSearch
    alias: str
    writer: BulkWriter

    def current_versions(self, ids: list[int]) -> tuple[Versions, Versions, set[int]]:
        """(PostgreSQL versions, OpenSearch versions, ids with queued changes) as of now."""
        rows = self.conn.execute("SELECT id, version FROM products WHERE id = ANY(%s)", (ids,)).fetchall()
        pg = {int(i): int(v) for i, v in rows}
        docs = self.client.mget(index=self.alias, body={"ids": [str(i) for i in ids]}, _source=False)["docs"]
        os_ = {int(d["_id"]): int(d["_version"]) for d in docs if d.get("found")}
        queued = self.conn.execute(
            "SELECT DISTINCT product_id FROM outbox WHERE processed_at IS NULL AND product_id = ANY(%s)",
            (ids,),
        ).fetchall()
        return pg, os_, {int(r[0]) for r in queued}

    def confirm(self, ids: list[int], report: DriftReport, repair: bool) -> None:
        pg, os_, queued = self.current_versions(ids)
        actions: list[Action] = []
        for product_id in ids:
            if pg.get(product_id) == os_.get(product_id):
                continue
            if product_id in queued:
                report.pending += 1
                continue
            if product_id not in os_:
                report._note("missing", product_id)
            elif product_id not in pg:
                report._note("extra", product_id)
                actions.append(Action(product_id, os_[product_id] + 1))
            else:
                report._note("stale", product_id)
        if repair:
            self._repair(
                [i for i in ids if i in pg and pg[i] != os_.get(i) and i not in queued], actions, report
            )

    def _repair(self, reindex_ids: list[int], deletes: list[Action], report: DriftReport) -> None:
        docs = build_documents(self.conn, reindex_ids)
        actions = [Action(i, int(d["version"]), d) for i, d in docs.items()] + deletes
        if not actions:
            return
        outcome = self.writer.write(self.alias, actions, refresh="wait_for")
        # A 409 here means OpenSearch holds a newer version (or tombstone): not repaired, still drift.
        report.repaired += outcome.written


def verify(
    settings: Settings,
    repair: bool = False,
    page_size: int = 5000,
    on_page: Callable[[DriftReport], None] | None = None,
) -> DriftReport:
    """Compare PostgreSQL and the alias's index; with repair, rewrite every drifted document."""
    client = make_client(settings)
    report = DriftReport()
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        pg_conn = psycopg.connect(settings.postgres_dsn, autocommit=True)
        try:
            verifier = Verifier(conn, client, settings.index_alias, BulkWriter(client))
            candidates = merge_versions(
                iter_postgres_versions(pg_conn, page_size),
                iter_opensearch_versions(client, settings.index_alias, page_size),
                report,
            )
            for chunk in _chunks(candidates, 1000):
                verifier.confirm(chunk, report, repair)
                if on_page:
                    on_page(report)
        finally:
            pg_conn.close()
    return report
