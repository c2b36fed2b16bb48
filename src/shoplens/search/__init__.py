"""Product search: BM25 over weighted fields (tantivy) and dense vectors from the text encoders, fused and ranked.

See docs/search.md. :mod:`shoplens.search.index` is the on-disk index the rest builds on;
:mod:`shoplens.search.query` understands queries (filters, category, spelling, synonyms; docs/search-query.md).
Importing this package is cheap: tantivy, usearch, jieba and torch load when an index is built, opened or queried.
"""

from __future__ import annotations
