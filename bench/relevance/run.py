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
import math
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg

from bench.bulk_import import prepare_database

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import TestClient

    from catalog.settings import Settings

HERE = Path(__file__).resolve().parent
PRODUCTS_FILE = HERE / "products.jsonl"
JUDGMENT_FILES = (HERE / "judgments.jsonl", HERE / "demo_judgments.jsonl")
DEMO_RULES_FILE = HERE / "demo_rules.json"
"""Merchandising rules a merchandiser of this catalog would plausibly run (boosts, a launch pin, a withdrawn SKU):
the `rules` system is /search with them in force, to show what merchandising does to relevance."""
DEFAULT_BASELINE = HERE / "baseline.json"
DEFAULT_DB = "catalog_relevance"
DEFAULT_ALIAS = "relevance_products"
DEFAULT_DEMO_PRODUCTS = 3000  # demo_judgments.jsonl is generated for this N and seed 42
DEMO_SEED = 42
TOLERANCE = 0.01
TOP = 10
# Kinds whose MRR counts the product the query names (grade 3); the others count the first grade >= 2.
NAMED_PRODUCT_KINDS = frozenset({"exact_name", "typo", "color_variant"})
SYSTEMS = ("search", "rules", "bm25")
SYSTEM_TITLES = {"search": "/search", "rules": "/search+rules", "bm25": "BM25"}
BM25_FIELDS = ["name^3", "brand^2", "description"]

# The electronics tree the hand-written products live in (the demo seed already has electronics/mobile with
# Smartphones and Headphones, electronics/computers, ...). Path -> display name.
CATEGORIES = {
    "electronics/mobile/cell-phone-cases": "Cell Phone Cases",
    "electronics/mobile/chargers": "Chargers",
    "electronics/mobile/car-chargers": "Car Chargers",
    "electronics/mobile/car-mounts": "Car Mounts",
    "electronics/mobile/cables": "Cables",
    "electronics/mobile/screen-protectors": "Screen Protectors",
    "electronics/mobile/power-banks": "Power Banks",
    "electronics/mobile/travel-adapters": "Travel Adapters",
    "electronics/mobile/portable-speakers": "Portable Speakers",
    "electronics/mobile/phone-grips": "Phone Grips",
    "electronics/mobile/vr-headsets": "VR Headsets",
    "electronics/computers/memory-card-readers": "Memory Card Readers",
    "electronics/computers/memory-cards": "Memory Cards",
    "electronics/computers/tablet-keyboards": "Tablet Keyboards",
}

Say = Callable[[str], None]


def _say(message: str) -> None:
    print(message, flush=True)


def settings_for(database: str, alias: str) -> Settings:
    """Settings from the CATALOG_* environment, pointed at the scratch database and alias, rate limits off."""
    from catalog.settings import Settings

    return Settings(postgres_db=database, index_alias=alias, rate_limit_per_minute=0)


# --- judgments -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    query: str
    kind: str
    relevant: dict[str, int]  # SKU -> grade 1..3


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


def load_products(path: Path = PRODUCTS_FILE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


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


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        raise SystemExit(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()


def import_products(client: TestClient[Litestar], headers: dict[str, str], products: list[dict[str, Any]]) -> int:
    """The category tree, the products (one NDJSON bulk request) and their stock, through the API."""
    existing = {c["path"]: c["id"] for c in _check(client.get("/categories", headers=headers), "GET /categories")}
    wanted = sorted({p["category"] for p in products}, key=lambda path: path.count("/"))
    for path in wanted:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            if sub in existing:
                continue
            if sub not in CATEGORIES:
                raise SystemExit(f"products.jsonl uses category {sub!r}: add its name to CATEGORIES in run.py")
            parent = existing.get("/".join(parts[:depth - 1])) if depth > 1 else None
            body = {"slug": parts[depth - 1], "name": CATEGORIES[sub], "parent_id": parent}
            created = _check(client.post("/categories", json=body, headers=headers), f"POST /categories {sub}")
            existing[sub] = created["id"]
    items = []
    for p in products:
        item = {k: v for k, v in p.items() if k not in ("category", "stock")}
        item["category_id"] = existing[p["category"]]
        items.append(json.dumps(item))
    result = _check(client.post("/products/bulk", content="\n".join(items).encode(),
                                headers={**headers, "content-type": "application/x-ndjson"}), "POST /products/bulk")
    errors = [i for i in result["items"] if i["status"] == "error"]
    if errors:
        raise SystemExit(f"POST /products/bulk refused {len(errors)} items, e.g. {errors[:3]}")
    ids = {i["sku"]: i["id"] for i in result["items"]}
    warehouse = _check(client.get("/warehouses", headers=headers), "GET /warehouses")[0]["id"]
    for p in products:
        body = {"warehouse_id": warehouse, "on_hand": int(p.get("stock", 0)), "reserved": 0}
        _check(client.put(f"/products/{ids[p['sku']]}/stock", json=body, headers=headers), f"stock of {p['sku']}")
    return len(products)


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


@dataclass
class Hit:
    sku: str
    category: str | None  # the product's own (deepest) category path


def _leaf(paths: Sequence[str] | None) -> str | None:
    return max(paths, key=len) if paths else None


def search_hits(client: TestClient[Litestar], query: str) -> list[Hit]:
    response = client.get("/search", params={"q": query, "per_page": TOP}, headers={"Cache-Control": "no-cache"})
    body = _check(response, f"/search?q={query}")
    return [Hit(item["sku"], _leaf(item["category_path"])) for item in body["items"]][:TOP]


def bm25_body(query: str) -> dict[str, Any]:
    from indexer import mapping as f

    return {
        "query": {"bool": {"must": {"multi_match": {"query": query, "fields": BM25_FIELDS}},
                           "filter": {"term": {f.STATUS: "active"}}}},
        "size": TOP,
        "_source": [f.SKU, f.CATEGORY_PATH],
    }


def bm25_hits(http: httpx.Client, settings: Settings, query: str) -> list[Hit]:
    response = http.post(f"{settings.opensearch_url}/{settings.index_alias}/_search", json=bm25_body(query))
    body = _check(response, f"BM25 {query!r}")
    return [Hit(h["_source"]["sku"], _leaf(h["_source"].get("category_path"))) for h in body["hits"]["hits"]]


# --- metrics -----------------------------------------------------------------------------------------------------


def target_grade(judged: Judged) -> int:
    """MRR's "relevant": the named product (3) for exact-name kinds, else grade >= 2 (or the best grade judged)."""
    wanted = 3 if judged.kind in NAMED_PRODUCT_KINDS else 2
    return min(wanted, max(judged.relevant.values()))


def reciprocal_rank(judged: Judged, skus: Sequence[str]) -> float:
    goal = target_grade(judged)
    for rank, sku in enumerate(skus[:TOP], 1):
        if judged.relevant.get(sku, 0) >= goal:
            return 1.0 / rank
    return 0.0


def _dcg(grades: Sequence[int]) -> float:
    return sum((2 ** g - 1) / math.log2(rank + 1) for rank, g in enumerate(grades[:TOP], 1))


def ndcg(judged: Judged, skus: Sequence[str]) -> float:
    ideal = _dcg(sorted(judged.relevant.values(), reverse=True))
    return _dcg([judged.relevant.get(sku, 0) for sku in skus]) / ideal if ideal else 0.0


def target_category(judged: Judged, category_of: dict[str, str | None]) -> str | None:
    """The category most of the query's relevant products are in, each product counted by its gain 2^g - 1."""
    weight: Counter[str] = Counter()
    for sku, grade in judged.relevant.items():
        if (category := category_of.get(sku)) is not None:
            weight[category] += 2 ** grade - 1
    return max(sorted(weight), key=lambda c: weight[c]) if weight else None


def category_precision(target: str, hits: Sequence[Hit]) -> float:
    """Share of the top-10 hits in the target category; 0 when nothing came back."""
    return sum(h.category == target for h in hits[:TOP]) / len(hits[:TOP]) if hits else 0.0


@dataclass
class QueryResult:
    judged: Judged
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    rr: dict[str, float] = field(default_factory=dict)
    ndcg: dict[str, float] = field(default_factory=dict)
    cat: dict[str, float | None] = field(default_factory=dict)


def by_model(judged: Judged, model_of: dict[str, str]) -> Judged:
    """The judgments per model: the variants of one product group are one thing to a shopper (grouped search
    shows the model once), so the group takes its best-graded variant's grade."""
    relevant: dict[str, int] = {}
    for sku, grade in judged.relevant.items():
        key = model_of.get(sku, sku)
        relevant[key] = max(grade, relevant.get(key, 0))
    return Judged(judged.query, judged.kind, relevant)


def models_in(hits: Sequence[Hit], model_of: dict[str, str]) -> list[str]:
    """The models the hits show, in order, each once (an ungrouped system may list several of its variants)."""
    return list(dict.fromkeys(model_of.get(h.sku, h.sku) for h in hits))


def score(results: list[QueryResult], category_of: dict[str, str | None], model_of: dict[str, str]) -> None:
    """Each system's figures per query, counted per model (`by_model`); a product of its own is its own model."""
    for r in results:
        target = target_category(r.judged, category_of)
        judged = by_model(r.judged, model_of)
        for system, hits in r.hits.items():
            models = models_in(hits, model_of)
            r.rr[system] = reciprocal_rank(judged, models)
            r.ndcg[system] = ndcg(judged, models)
            r.cat[system] = category_precision(target, hits) if target else None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def summarize(results: Sequence[QueryResult], system: str) -> dict[str, float]:
    cats = [c for r in results if (c := r.cat[system]) is not None]
    return {
        "queries": len(results),
        "ndcg@10": round(_mean([r.ndcg[system] for r in results]), 4),
        "mrr@10": round(_mean([r.rr[system] for r in results]), 4),
        "zero_result_rate": round(_mean([float(not r.hits[system]) for r in results]), 4),
        "category_precision@10": round(_mean(cats), 4),
    }


def figures(results: Sequence[QueryResult], meta: dict[str, Any]) -> dict[str, Any]:
    kinds = sorted({r.judged.kind for r in results})
    out: dict[str, Any] = {"meta": meta}
    for system in SYSTEMS:
        out[system] = {
            "overall": summarize(results, system),
            "kinds": {k: summarize([r for r in results if r.judged.kind == k], system) for k in kinds},
        }
    out["search_zero_results"] = [r.judged.query for r in results if not r.hits["search"]]
    out["per_query"] = [
        {"query": r.judged.query, "kind": r.judged.kind,
         **{f"{s}_ndcg": round(r.ndcg[s], 4) for s in SYSTEMS}, **{f"{s}_rr": round(r.rr[s], 4) for s in SYSTEMS},
         **{f"{s}_hits": len(r.hits[s]) for s in SYSTEMS}, "search_top": [h.sku for h in r.hits["search"][:3]]}
        for r in results
    ]
    return out


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
    created = [_check(client.post("/search/rules", json=rule, headers=headers), f"rule {rule['name']!r}")["id"]
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


def format_table(fig: dict[str, Any]) -> str:
    s, b, ruled = fig["search"], fig["bm25"], fig["rules"]
    metrics = [("nDCG@10", "ndcg@10"), ("MRR@10", "mrr@10"), ("zero-result rate", "zero_result_rate"),
               ("category precision@10", "category_precision@10")]
    lines = [f"{'overall (' + str(s['overall']['queries']) + ' queries)':<34}{'/search':>9}{'BM25':>9}"
             f"{'/search+rules':>15}"]
    for title, key in metrics:
        lines.append(f"{'  ' + title:<34}{s['overall'][key]:>9.3f}{b['overall'][key]:>9.3f}"
                     f"{ruled['overall'][key]:>15.3f}")
    lines.append("")
    header = (f"{'kind':<16}{'n':>5}   {'nDCG@10':^17}   {'MRR@10':^17}   {'zero results':^17}   "
              f"{'cat. prec@10':^17}")
    lines += [header, f"{'':<21}   " + "   ".join([f"{'/search':>8} {'BM25':>8}"] * 4)]
    for kind in s["kinds"]:
        ks, kb = s["kinds"][kind], b["kinds"][kind]
        cells = "   ".join(f"{ks[key]:>8.3f} {kb[key]:>8.3f}" for _, key in metrics)
        lines.append(f"{kind:<16}{ks['queries']:>5}   {cells}")
    return "\n".join(lines)


def compare(fig: dict[str, Any], baseline_path: Path) -> tuple[bool, str]:
    """(ok, message): not ok when /search's overall nDCG@10 is more than TOLERANCE below the baseline's."""
    baseline = json.loads(baseline_path.read_text())
    was = float(baseline["search"]["overall"]["ndcg@10"])
    now = float(fig["search"]["overall"]["ndcg@10"])
    message = f"/search nDCG@10 {now:.4f} vs baseline {was:.4f} ({now - was:+.4f}; {baseline_path})"
    if now < was - TOLERANCE:
        return False, f"RELEVANCE REGRESSION: {message}: more than {TOLERANCE} below the baseline"
    return True, message


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
