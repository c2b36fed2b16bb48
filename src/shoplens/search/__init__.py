"""Product search: BM25 over weighted fields (tantivy) and dense vectors from the text encoders, fused per query,
with facets and per-signal explanations.

```python
import shoplens as sl
from shoplens.search import Search

ws = sl.Workspace.open("shop")
page = Search().fit(ws).query("espresso machine", k=5, filters={"price_max": 300})
page.items[0]["signals"]        # {"bm25": 7.1, "dense:minilm": 0.62}
```

See docs/search.md. :mod:`shoplens.search.index` is the on-disk index the rest builds on;
:mod:`shoplens.search.query` understands queries (filters, category, spelling, synonyms; docs/search-query.md).
Importing this package is cheap: tantivy, usearch, jieba and torch load when an index is built, opened or queried.
"""

from __future__ import annotations

from shoplens.search.base import Search, SearchPage
from shoplens.search.encoder import SearchEncoder

__all__ = ["Search", "SearchEncoder", "SearchPage"]
