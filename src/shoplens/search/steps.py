"""Pipeline steps of search (``shoplens run`` / ``shoplens demo``):

- train: the product index is built into ``ws/search/`` (BM25 fields + MiniLM vectors; the fine-tuned search
  encoder's vectors too where one is deployed, i.e. it beat off-the-shelf on validation), so that the service and
  ``shoplens search query`` have it. Embeddings are cached by text hash, so a rerun re-embeds only changed
  products.
- evaluate: known-item search on the shop's own (query, product) pairs, the built search beside BM25 alone
  (in-sample; the held-out benchmark is benchmarks/search.py). The demo profile samples fewer queries.

Fine-tuning the encoder is not a step (minutes of CPU); ``shoplens search finetune`` does it on demand.
"""

from __future__ import annotations

from typing import Any

from shoplens.pipeline import NotApplicable, RunContext, step

CAPABILITY = "search"
# the catalog, the shop's searches (events), review and Q&A text, the deployed fine-tuned encoder
READS = ("products", "events", "reviews", "qa", "model:search-encoder")
# The fast (demo) profile on a catalog larger than this encodes the first FAST_MAX_LENGTH tokens of each product's
# text (title, brand, category, attributes, then description, questions, reviews) instead of 256: encoding 2,000
# products at 256 tokens was most of the 125 s the mid-size shop's index took.
FAST_MAX_PRODUCTS = 500
FAST_MAX_LENGTH = 128


@step(CAPABILITY, "train", "search index", reads=READS)
def build_index(ctx: RunContext) -> dict[str, Any]:
    from shoplens.search import api

    if "products" not in ctx.ws.table_names() or not int(ctx.ws.sql("SELECT count(*) AS n FROM products")["n"][0]):
        raise NotApplicable("no products to index")
    products = int(ctx.ws.sql("SELECT count(*) AS n FROM products")["n"][0])
    params = {}
    if ctx.profile == "demo" and products > FAST_MAX_PRODUCTS:
        params["max_length"] = FAST_MAX_LENGTH
        ctx.limit(f"fast profile ({products:,} products): the encoder reads the first {FAST_MAX_LENGTH} tokens of "
                  "each product's text (256 in the full profile); BM25 reads it whole")
    search = api.build(ctx.ws, **params)
    ctx.outputs["search.built"] = True
    return {"products": search.products_, "signals": ", ".join(search.signal_weights()),
            "learned ranker": search.ranker_info_.get("fitted", False),
            "folder": str(search.folder_)}


@step(CAPABILITY, "evaluate", "search vs BM25", reads=READS)
def evaluate_search(ctx: RunContext) -> dict[str, Any]:
    from shoplens.errors import InputError
    from shoplens.search import api

    if not ctx.outputs.get("search.built"):
        return {"skipped": "no search index was built"}
    try:
        records = api.load(ctx.ws).evaluate(ctx.ws, max_queries=100 if ctx.profile == "demo" else 1000)
    except InputError as exc:
        raise NotApplicable(str(exc)) from None
    summary: dict[str, Any] = {"protocol": records[0].protocol.label()}
    for record in records:
        for metric, value in record.metrics.items():
            summary[f"{record.model} {metric}"] = round(float(value), 4)
    return summary
