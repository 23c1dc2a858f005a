"""Search relevance: `/search` vs a plain BM25 `multi_match` on the same index, over judged shopper queries.

A scratch database and index alias (dropped and rebuilt on every run) get the deterministic demo catalog
(`db.seed.seed`, N products, seed 42), then a small electronics category tree and the hand-written products of
`products.jsonl`, imported through the real API (`POST /categories`, `POST /products/bulk`,
`PUT /products/{id}/stock`, the app run in-process). Everything is indexed (`indexer.reindex`), then every query
of `judgments.jsonl` and `demo_judgments.jsonl` runs against

- `/search`: `GET /search?q=...&per_page=10` with `Cache-Control: no-cache`;
- `BM25`: `{"multi_match": {"query": q, "fields": ["name^3", "brand^2", "description"]}}` filtered on
  `status: active`, straight to OpenSearch on the same alias, top 10;
- `/search+rules`: `/search` again with the merchandising rules of `demo_rules.json` in force (what steering
  costs or buys in relevance; the baseline check is on `/search` without them).

Everything is counted per model: the variants of one product group are one result to a shopper (grouped search
shows the model once), so a group takes its best variant's grade and a system listing several of its variants
gets credit once.

Figures per system (see README.md for the definitions): MRR@10, nDCG@10, zero-result rate, category
precision@10, overall and per query kind.

Usage:
  .venv/bin/python -m bench.relevance.run                      # prints the table
  .venv/bin/python -m bench.relevance.run --baseline bench/relevance/baseline.json --check   # exit 1 on regression
  .venv/bin/python -m bench.relevance.run --baseline bench/relevance/baseline.json --write-baseline
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg

from bench.bulk_import import prepare_database
from bench.relevance.metrics import (
    TOLERANCE,
    TOP,
    Hit,
    Judged,
    QueryResult,
    compare,
    figures,
    format_table,
    score,
)
from bench.relevance.products import check, import_products, load_products

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import TestClient

    from catalog.settings import Settings

HERE = Path(__file__).resolve().parent
JUDGMENT_FILES = (HERE / "judgments.jsonl", HERE / "demo_judgments.jsonl")
DEMO_RULES_FILE = HERE / "demo_rules.json"
"""Merchandising rules a merchandiser of this catalog would plausibly run (boosts, a launch pin, a withdrawn SKU):
the `rules` system is /search with them in force, to show what merchandising does to relevance."""
DEFAULT_BASELINE = HERE / "baseline.json"
DEFAULT_DB = "catalog_relevance"
DEFAULT_ALIAS = "relevance_products"
DEFAULT_DEMO_PRODUCTS = 3000  # demo_judgments.jsonl is generated for this N and seed 42
DEMO_SEED = 42
BM25_FIELDS = ["name^3", "brand^2", "description"]

Say = Callable[[str], None]


def _say(message: str) -> None:
    print(message, flush=True)


def settings_for(database: str, alias: str) -> Settings:
    """Settings from the CATALOG_* environment, pointed at the scratch database and alias, rate limits off."""
    from catalog.settings import Settings

    return Settings(postgres_db=database, index_alias=alias, rate_limit_per_minute=0)


# --- judgments -------------------------------------------------------------------------------------------------


def load_judgments(paths: Sequence[Path] = JUDGMENT_FILES) -> list[Judged]:
    judged = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            relevant = {str(sku): int(grade) for sku, grade in row["relevant"].items()}
            if not relevant or not all(1 <= g <= 3 for g in relevant.values()):
                raise SystemExit(f"{path.name}:{number}: grades must be 1, 2 or 3 ({row['query']!r})")
            judged.append(Judged(row["query"], row["kind"], relevant))
    return judged


# --- the scratch catalog ------------------------------------------------------------------------------------


def _drop_indices(settings: Settings) -> None:
    httpx.delete(f"{settings.opensearch_url}/{settings.index_alias}_v*?ignore_unavailable=true", timeout=60)


def drop(settings: Settings) -> None:
    """Remove the scratch database and every index version of the scratch alias."""
    from db.session import sync_engine
    from stack.postgres_server import drop_database

    sync_engine.cache_clear()
    drop_database(settings, settings.postgres_db)
    _drop_indices(settings)
    from indexer.mapping import template_name

    httpx.delete(f"{settings.opensearch_url}/_index_template/{template_name(settings.index_alias)}", timeout=30)


def prepare(settings: Settings, client: TestClient[Litestar], demo_products: int, say: Say = _say) -> None:
    """Fresh scratch database and alias: demo catalog + hand-written products, all indexed."""
    from api.auth.security import issue_token
    from db.seed import seed
    from indexer.reindex import reindex

    started = time.perf_counter()
    _drop_indices(settings)
    seed(settings.database_url, demo_products, seed=DEMO_SEED)
    say(f"  seeded {demo_products} demo products into {settings.postgres_db} in {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {issue_token(settings, uuid.uuid4(), ['admin'])}"}
    count = import_products(client, headers, load_products())
    say(f"  imported {count} hand-written products through the API in {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    reindex(settings)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL")
    say(f"  indexed behind alias {settings.index_alias} in {time.perf_counter() - started:.1f}s")


# --- the two systems -------------------------------------------------------------------------------------------


def _leaf(paths: Sequence[str] | None) -> str | None:
    return max(paths, key=len) if paths else None


def search_hits(client: TestClient[Litestar], query: str) -> list[Hit]:
    response = client.get("/search", params={"q": query, "per_page": TOP}, headers={"Cache-Control": "no-cache"})
    body = check(response, f"/search?q={query}")
    return [Hit(item["sku"], _leaf(item["category_path"])) for item in body["items"]][:TOP]


def bm25_body(query: str) -> dict[str, Any]:
    from catalog import index_contract as doc

    return {
        "query": {"bool": {"must": {"multi_match": {"query": query, "fields": BM25_FIELDS}},
                           "filter": {"term": {doc.STATUS: "active"}}}},
        "size": TOP,
        "_source": [doc.SKU, doc.CATEGORY_PATH],
    }


def bm25_hits(http: httpx.Client, settings: Settings, query: str) -> list[Hit]:
    response = http.post(f"{settings.opensearch_url}/{settings.index_alias}/_search", json=bm25_body(query))
    body = check(response, f"BM25 {query!r}")
    return [Hit(h["_source"]["sku"], _leaf(h["_source"].get("category_path"))) for h in body["hits"]["hits"]]


# --- the run -------------------------------------------------------------------------------------------------

QUIET_LOGGERS = {"httpx": logging.WARNING, "catalog.access": logging.WARNING, "catalog.quality": logging.WARNING,
                 "indexer.reindex": logging.WARNING, "opensearch": logging.ERROR}


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """No per-request INFO lines (the app turns INFO logging on); levels restored afterwards."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger, quiet in zip(loggers, QUIET_LOGGERS.values(), strict=True):
        logger.setLevel(quiet)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run_queries(client: TestClient[Litestar], settings: Settings, judged: list[Judged], say: Say = _say,
                workers: int = 4) -> list[QueryResult]:
    results = [QueryResult(j) for j in judged]
    done = 0
    started = time.perf_counter()
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(workers) as pool:
        def one(r: QueryResult) -> QueryResult:
            r.hits["search"] = search_hits(client, r.judged.query)
            r.hits["bm25"] = bm25_hits(http, settings, r.judged.query)
            return r

        for _ in pool.map(one, results):
            done += 1
            if done % 100 == 0 or done == len(results):
                say(f"  queries {done}/{len(results)} ({time.perf_counter() - started:.1f}s)")
    return results


def with_demo_rules(client: TestClient[Litestar], settings: Settings, results: list[QueryResult],
                    say: Say = _say) -> None:
    """Put the demo rules in force (through `POST /search/rules`) and run every query again as the `rules` system;
    the rules are deleted afterwards."""
    from api.auth.security import issue_token

    headers = {"Authorization": f"Bearer {issue_token(settings, uuid.uuid4(), ['admin'])}"}
    rules = json.loads(DEMO_RULES_FILE.read_text())
    created = [check(client.post("/search/rules", json=rule, headers=headers), f"rule {rule['name']!r}")["id"]
               for rule in rules]
    say(f"  {len(created)} demo rules in force ({DEMO_RULES_FILE.name})")
    try:
        with ThreadPoolExecutor(4) as pool:
            for r, hits in zip(results, pool.map(lambda r: search_hits(client, r.judged.query), results), strict=True):
                r.hits["rules"] = hits
    finally:
        for rule_id in created:
            client.delete(f"/search/rules/{rule_id}", headers=headers)


def categories_of(settings: Settings) -> dict[str, str | None]:
    with psycopg.connect(settings.postgres_dsn) as conn:
        rows = conn.execute("SELECT p.sku, c.path, p.status FROM products p "
                            "LEFT JOIN categories c ON c.id = p.category_id").fetchall()
    return {sku: path for sku, path, status in rows if status == "active"}


def models_of(settings: Settings) -> dict[str, str]:
    """Each variant's SKU -> its group's key (products of their own are left out: they are their own model)."""
    with psycopg.connect(settings.postgres_dsn) as conn:
        rows = conn.execute("SELECT sku, 'group ' || group_id FROM products WHERE group_id IS NOT NULL").fetchall()
    return dict(rows)


def evaluate(database: str = DEFAULT_DB, alias: str = DEFAULT_ALIAS, demo_products: int = DEFAULT_DEMO_PRODUCTS,
             keep: bool = True, say: Say = _say) -> dict[str, Any]:
    """The whole run: scratch catalog, every judged query on both systems, the figures. `keep=False` drops the
    scratch database and indices afterwards."""
    from litestar.testing import TestClient

    from api.app import create_app

    started = time.perf_counter()
    settings = settings_for(database, alias)
    judged = load_judgments()
    say(f"relevance: {len(judged)} judged queries; scratch database {database}, alias {alias}")
    prepare_database(settings)  # drop, create and migrate (the bulk-import bench's scratch database helper)
    try:
        app = create_app(settings)
        with quiet_logs(), TestClient(app=app) as client:
            prepare(settings, client, demo_products, say)
            searchable = categories_of(settings)
            missing = sorted({sku for j in judged for sku in j.relevant if sku not in searchable})
            if missing:
                say(f"  WARNING: {len(missing)} judged SKUs are not active products of this catalog "
                    f"(e.g. {missing[:5]}); they stay in the judgments (unreachable)")
            results = run_queries(client, settings, judged, say)
            with_demo_rules(client, settings, results, say)
            model_of = models_of(settings)
        score(results, searchable, model_of)
    finally:
        if not keep:
            drop(settings)
    seconds = time.perf_counter() - started
    meta = {"queries": len(judged), "demo_products": demo_products, "demo_seed": DEMO_SEED,
            "hand_written_products": len(load_products()), "seconds": round(seconds, 1)}
    return figures(results, meta)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.relevance.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=DEFAULT_DB, help=f"scratch database, recreated (default {DEFAULT_DB})")
    parser.add_argument("--alias", default=DEFAULT_ALIAS, help=f"scratch index alias (default {DEFAULT_ALIAS})")
    parser.add_argument("--demo-products", type=int, default=DEFAULT_DEMO_PRODUCTS,
                        help=f"demo catalog size (default {DEFAULT_DEMO_PRODUCTS}, what demo_judgments.jsonl is for)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures (and per-query scores) here")
    parser.add_argument("--baseline", type=Path, metavar="PATH", help="compare with this baseline file")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when /search's nDCG@10 is more than {TOLERANCE} below the baseline's")
    parser.add_argument("--write-baseline", action="store_true",
                        help=f"write the figures to the baseline file (--baseline, default {DEFAULT_BASELINE})")
    parser.add_argument("--drop", action="store_true", help="drop the scratch database and indices afterwards")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    fig = evaluate(args.database, args.alias, args.demo_products, keep=not args.drop)
    print()
    print(format_table(fig))
    zero = fig["search_zero_results"]
    if zero:
        print(f"\n/search found nothing for {len(zero)} queries, e.g. {zero[:6]}")
    print(f"\ntotal {fig['meta']['seconds']:.1f}s")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=1) + "\n")
        print(f"figures -> {args.json}")
    baseline = args.baseline or DEFAULT_BASELINE
    status = 0
    if args.write_baseline:
        summary = {k: v for k, v in fig.items() if k != "per_query"}
        baseline.write_text(json.dumps(summary, indent=1) + "\n")
        print(f"baseline written -> {baseline}")
    elif args.baseline or args.check:
        if not baseline.exists():
            print(f"no baseline at {baseline} (write one with --write-baseline)")
            status = 1 if args.check else 0
        else:
            ok, message = compare(fig, baseline)
            print(message)
            status = 0 if ok or not args.check else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
