"""The product knowledge graph: an embedded LadybugDB database built from the warehouse, queried in Cypher.

```python
import shoplens as sl
from shoplens.graph import ProductGraph
ws = sl.Workspace.open("shop")
graph = ProductGraph().fit(ws)                               # graph/ in the workspace, built and swapped in
graph.neighbours("P00017")                                   # relation, table, id, name, properties
graph.query("MATCH (p:Product)-[:MADE_BY]->(b:Brand) WHERE b.id = $brand RETURN p.id, p.title",
            {"brand": "Calstead"}).to_frame()
graph.paths("P00017", "P00042", max_hops=3)                   # shortest paths, for explanations
```

The package's own imports are light (ladybug loads when a graph is built or opened); ``import_triples`` lives in
``shoplens.graph.triples``; ``shoplens.graph.links`` predicts a product's also_buy targets from the graph's
structure (docs/graph-links.md). See docs/graph.md.
"""

from __future__ import annotations

from shoplens.graph.build import ProductGraph
from shoplens.graph.folder import GraphNotBuilt
from shoplens.graph.store import GraphPath, GraphStore, QueryResult, QueryTimeout, WriteRefused

__all__ = [
    "GraphNotBuilt",
    "GraphPath",
    "GraphStore",
    "ProductGraph",
    "QueryResult",
    "QueryTimeout",
    "WriteRefused",
]
