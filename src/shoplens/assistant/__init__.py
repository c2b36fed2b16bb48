"""Customer-service assistant: intents, grounded answers with citations from the shop's own Q&A, reviews, catalog
and policy pages, private order look-ups, English and Chinese (docs/assistant.md).

Modules: :mod:`shoplens.assistant.intents` (the intent router and the shop's default intent set),
:mod:`shoplens.assistant.retrieval` (answer retrieval: BM25 and a fine-tuned bi-encoder, fused by weights learned
on validation questions). Importing this package is cheap: models load when they are fitted or used.
"""

from __future__ import annotations

__all__: list[str] = []
