"""The graph's schema: node tables and relation tables, declared once.

The DDL, the column order of the Parquet files the builder bulk-loads (``COPY … FROM``) and the docs all read
these declarations, so a new property is added in one place. Keys are the warehouse's ids (product, category
path, brand name, pseudonymized customer id …); relation files start with their two end keys (``from``,
``to``), as ``COPY`` expects.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Cypher type); the first is the primary key
    doc: str

    def ddl(self) -> str:
        columns = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        return f"CREATE NODE TABLE {self.name}({columns}, PRIMARY KEY ({self.columns[0][0]}))"

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


@dataclass(frozen=True)
class RelTable:
    name: str
    source: str
    target: str
    columns: tuple[tuple[str, str], ...]  # properties of the relation
    doc: str

    def ddl(self) -> str:
        properties = "".join(f", {name} {kind}" for name, kind in self.columns)
        return f"CREATE REL TABLE {self.name}(FROM {self.source} TO {self.target}{properties})"

    @property
    def column_names(self) -> list[str]:
        return ["from", "to", *(name for name, _ in self.columns)]


NODES = (
    NodeTable("Product", (("id", "STRING"), ("title", "STRING"), ("brand", "STRING"), ("category", "STRING"),
                          ("price", "DOUBLE")),
              "A product of the catalog: id, title, brand, category path (A > B > C), current price."),
    NodeTable("Category", (("id", "STRING"), ("name", "STRING"), ("level", "INT64")),
              "A category: its full path is the id (Clothing > Men > Shirts), its last part the name; level 1 is "
              "the top."),
    NodeTable("Brand", (("id", "STRING"),), "A brand, by name."),
    NodeTable("Customer", (("id", "STRING"),), "A customer: the pseudonymized id only, nothing else."),
    NodeTable("Aspect", (("id", "STRING"),), "A review aspect (quality, size/fit, price/value …) of the aspect "
                                             "model (reviews capability)."),
    NodeTable("Attribute", (("id", "STRING"), ("name", "STRING"), ("value", "STRING")),
              "A catalog fact (colour = slate grey, material = bamboo …); id is name=value."),
    NodeTable("Question", (("id", "STRING"), ("question", "STRING"), ("answer", "STRING"), ("source", "STRING")),
              "A product question with its answer (the qa table)."),
    NodeTable("Entity", (("id", "STRING"),), "An entity of imported external knowledge (e.g. Freebase ids)."),
)

RELS = (
    RelTable("IN_CATEGORY", "Product", "Category", (), "The product's (leaf) category."),
    RelTable("SUBCATEGORY_OF", "Category", "Category", (), "A category inside its parent."),
    RelTable("MADE_BY", "Product", "Brand", (), "The product's brand."),
    RelTable("HAS_ATTRIBUTE", "Product", "Attribute", (), "A catalog fact of the product."),
    RelTable("BOUGHT", "Customer", "Product", (("orders", "INT64"), ("units", "DOUBLE"), ("last_time", "TIMESTAMP")),
             "A customer bought the product: in how many orders, how many units, when last."),
    RelTable("BOUGHT_TOGETHER", "Product", "Product",
             (("orders", "INT64"), ("support", "DOUBLE"), ("confidence", "DOUBLE"), ("lift", "DOUBLE")),
             "Both in the same baskets (the analytics capability's pair counts): orders together, support, "
             "confidence of from → to, lift. Stored both ways."),
    RelTable("VIEWED_TOGETHER", "Product", "Product", (("sessions", "INT64"), ("source", "STRING")),
             "Viewed in the same sessions (events; source 'events') or Amazon meta also_view (source "
             "'also_view', sessions 0)."),
    RelTable("ALSO_BOUGHT", "Product", "Product", (), "Amazon meta also_buy: customers who bought one also bought "
                                                     "the other."),
    RelTable("SIMILAR_TO", "Product", "Product", (("cosine", "DOUBLE"), ("rank", "INT64")),
             "The k nearest products by text embedding (title, brand, category, description), with the cosine."),
    RelTable("MENTIONS", "Product", "Aspect",
             (("reviews", "INT64"), ("mean_sentiment", "DOUBLE"), ("example_review_ids", "STRING[]")),
             "Reviews of the product talk about the aspect: how many, mean sentiment (−1 … 1), a few review ids."),
    RelTable("ABOUT", "Question", "Product", (), "The question is about the product."),
    RelTable("RELATED", "Entity", "Entity", (("relation", "STRING"),),
             "An imported triple (head, relation, tail); the relation's name is a property."),
    RelTable("LINKED_TO", "Product", "Entity", (), "The product is the external entity (item ↔ entity links)."),
)

NODE_NAMES = tuple(n.name for n in NODES)
REL_NAMES = tuple(r.name for r in RELS)
# Relations between two products: what a product's neighbourhood is made of.
PRODUCT_RELS = tuple(r.name for r in RELS if r.source == "Product" and r.target == "Product")


def node(name: str) -> NodeTable:
    return next(n for n in NODES if n.name == name)


def rel(name: str) -> RelTable:
    return next(r for r in RELS if r.name == name)
