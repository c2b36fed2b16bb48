"""Customer-service assistant: intents, grounded answers with citations from the shop's own Q&A, reviews, catalog
and policy pages, private order look-ups, English and Chinese (docs/assistant.md).

```python
from shoplens.assistant import Assistant
reply = Assistant().fit(ws).ask("How much does shipping cost?")   # reply.text, reply.citations
```

Modules: :mod:`~shoplens.assistant.base` (the :class:`Assistant` and its :class:`Reply`),
:mod:`~shoplens.assistant.knowledge` (the shop's knowledge as citable passages), :mod:`~shoplens.assistant.intents`
(the intent router and the shop's default intent set), :mod:`~shoplens.assistant.retrieval` (evidence retrieval:
BM25, dense and product-question signals fused by weights learned on validation questions),
:mod:`~shoplens.assistant.verdict` (yes/no only when the evidence says so), :mod:`~shoplens.assistant.orders`
(customer tokens, private order look-ups, the audit), :mod:`~shoplens.assistant.answer` (extractive replies).
Importing this package is cheap: models load when they are fitted or used.
"""

from __future__ import annotations

from shoplens.assistant.answer import Citation
from shoplens.assistant.base import Assistant, Reply

__all__ = ["Assistant", "Citation", "Reply"]
