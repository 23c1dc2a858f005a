"""Relevance figures (pure, no I/O): graded judgments of shopper queries, the hits each system returned, and
MRR@10, nDCG@10, zero-result rate and category precision@10 per query, per query kind and overall (counted per
model: a product group's variants are one result), the table `bench.relevance.run` prints and the baseline check."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOLERANCE = 0.01
TOP = 10
# Kinds whose MRR counts the product the query names (grade 3); the others count the first grade >= 2.
NAMED_PRODUCT_KINDS = frozenset({"exact_name", "typo", "color_variant"})
SYSTEMS = ("search", "rules", "bm25")
SYSTEM_TITLES = {"search": "/search", "rules": "/search+rules", "bm25": "BM25"}


@dataclass(frozen=True)
class Judged:
    query: str
    kind: str
    relevant: dict[str, int]  # SKU -> grade 1..3


@dataclass
class Hit:
    sku: str
    category: str | None  # the product's own (deepest) category path


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
