"""Search relevance must not regress: `/search`'s nDCG@10 on the judged queries of bench/relevance stays within
0.01 of the committed baseline (bench/relevance/baseline.json; `make relevance` prints the whole table)."""

from __future__ import annotations

import json
import uuid

from catalog.settings import Settings

TOLERANCE = 0.01


def test_search_ndcg_does_not_fall_below_the_baseline(stack: Settings) -> None:
    from bench.relevance import run

    assert run.DEFAULT_BASELINE.exists(), f"no relevance baseline at {run.DEFAULT_BASELINE}"
    baseline = json.loads(run.DEFAULT_BASELINE.read_text())["search"]["overall"]["ndcg@10"]
    token = uuid.uuid4().hex[:8]
    figures = run.evaluate(f"catalog_relevance_test_{token}", f"relevance_test_{token}_products", keep=False,
                           say=lambda message: None)
    now = figures["search"]["overall"]["ndcg@10"]
    assert now >= baseline - TOLERANCE, (
        f"/search nDCG@10 fell to {now:.4f} from the baseline's {baseline:.4f} (more than {TOLERANCE}); "
        f"run `make relevance` for the per-kind table"
    )
