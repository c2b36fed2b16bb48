"""``shoplens graph …``: build the product graph from the warehouse, query it in Cypher (read-only, with bound
``--param`` values), count what is in it, list a product's neighbours, import external triples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shoplens import clitools as cli

app = cli.command_group("Product knowledge graph: build, query, stats, neighbours, import-triples.")

ParamOpt = Annotated[list[str] | None, typer.Option(
    "--param", "-p", help="NAME=VALUE bound to $NAME in the query (JSON values: 10, true, \"123\" for text); "
                          "repeat.")]


@cli.command(app)
def build(similar_k: Annotated[int, typer.Option(min=0, max=100, help="Nearest products by text (0: none).")] = 10,
          encoder: Annotated[str, typer.Option(help="Text encoder for SIMILAR_TO (minilm, e5-small …).")] = "minilm",
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Build the graph from the warehouse into graph/ (a new folder swapped in: the old graph stays usable
    until the new one is complete)."""
    from shoplens.graph import ProductGraph

    graph = ProductGraph(similar_k=similar_k, encoder=encoder).fit(cli.open_workspace(workspace),
                                                                    progress=cli.show_progress(as_json))
    cli.emit(graph.manifest_, as_json, lambda: _show_counts(graph.manifest_))


@cli.command(app)
def query(cypher: Annotated[str, typer.Argument(help="A read-only Cypher query, e.g. \"MATCH (p:Product) "
                                                     "WHERE p.id = $id RETURN p.title\".")],
          param: ParamOpt = None,
          limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many rows.")] = 1_000,
          timeout: Annotated[float, typer.Option(min=0.001, max=600, help="Time limit in seconds.")] = 10.0,
          workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Run a read-only Cypher query; values come in with --param, never pasted into the query."""
    from shoplens.graph import GraphStore

    params = cli.name_values(param, "--param", "id=P00017")
    with GraphStore.of(cli.open_workspace(workspace)) as store:
        result = store.query(cypher, params, limit=limit, timeout_s=timeout)
    data = result.to_dict()
    note = f"{len(result.rows):,} rows{' (truncated at the row limit)' if result.truncated else ''}"
    cli.emit(data, as_json, lambda: (
        cli.console.print(cli.table_of([dict(zip(data["columns"], r, strict=True)) for r in data["rows"]],
                                       data["columns"])),
        cli.console.print(note, highlight=False)))


@cli.command(app)
def stats(workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Nodes and relations per table, when the graph was built, and the sources that were missing."""
    from shoplens.graph import GraphStore

    with GraphStore.of(cli.open_workspace(workspace)) as store:
        data = store.stats()
    cli.emit(data, as_json, lambda: _show_counts({"counts": {**data["nodes"], **data["relations"]}, **data}))


@cli.command(app)
def neighbours(product_id: Annotated[str, typer.Argument(help="The product.")],
               relation: Annotated[list[str] | None, typer.Option("--relation", "-r",
                                                                  help="Only these relations; repeat.")] = None,
               k: Annotated[int, typer.Option("--k", "-k", min=1, max=1000, help="Per relation.")] = 10,
               workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """A product's neighbours in the graph, per relation the strongest first."""
    from shoplens.graph import GraphStore

    with GraphStore.of(cli.open_workspace(workspace)) as store:
        frame = store.neighbours(product_id, relations=relation, k=k)
    rows: list[dict[str, Any]] = frame.to_dict("records")
    cli.emit(rows, as_json, lambda: cli.console.print(cli.table_of(
        rows, ["relation", "direction", "table", "id", "name", "properties"], title=f"neighbours of {product_id}")))


@cli.command(app, "import-triples")
def import_triples(triples: Annotated[Path, typer.Argument(help="Triples file (RecBole .kg: head, relation, "
                                                                 "tail with a typed header line).")],
                   link: Annotated[Path | None, typer.Option("--link", help="Item ↔ entity links (RecBole .link).")]
                   = None,
                   workspace: cli.WorkspaceOpt = None, as_json: cli.JsonOpt = False) -> None:
    """Add external knowledge to the built graph: Entity nodes, RELATED (with the relation's name), LINKED_TO
    from products. A malformed line stops the import with its line number; nothing is half-imported."""
    from shoplens.graph.triples import import_triples as run_import

    report = run_import(cli.open_workspace(workspace), triples, link)
    cli.emit(report.to_dict(), as_json, lambda: cli.console.print(
        f"imported {report.triples_read:,} triples and {report.links_read:,} links: the graph has "
        f"{report.entities:,} entities, {report.relations:,} relations, {report.links:,} product links"
        + (f" ({report.links_without_product:,} links name no product of the shop)"
           if report.links_without_product else ""), highlight=False))


def _show_counts(manifest: dict[str, Any]) -> None:
    rows = [{"table": name, "rows": rows} for name, rows in manifest["counts"].items()]
    cli.console.print(cli.table_of(rows, ["table", "rows"], title=f"product graph built {manifest['built_at']}"))
    for table, why in manifest.get("missing", {}).items():
        cli.console.print(f"{table}: {why}", highlight=False)
