"""What the CLI, the pipeline and the service call: build the workspace's index, open it, fine-tune the encoder.

```python
from shoplens.search import api
api.build(ws)                                   # Search().fit(ws): ws/search/ rebuilt whole
api.load(ws).query("red dress", k=5)            # the built index (cached per folder and build)
api.finetune(ws, seconds=300)                   # a search-encoder version in the registry; the next build uses it
```
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoplens.errors import NotFound

if TYPE_CHECKING:
    from shoplens.search.base import Search
    from shoplens.search.encoder import SearchEncoder
    from shoplens.workspace import Workspace

_OPEN: dict[tuple[str, float], Search] = {}
_OPENING = threading.Lock()  # the service's warm-up and its first request must not both load a large index


def build(ws: Workspace, *, encoder: str | None = "minilm", finetuned: str = "auto", **params: Any) -> Search:
    """Index the workspace's products. It only reads the warehouse; the folder is replaced whole (no lock needed:
    a reader sees the old index or the new one). ``params``: the :class:`Search`'s (``max_length`` …)."""
    from shoplens.search.base import Search

    return Search(encoder, finetuned=finetuned, **params).fit(ws)


def is_built(ws: Workspace) -> bool:
    from shoplens.search.base import SETTINGS_FILE

    return (ws.dir("search") / SETTINGS_FILE).exists()


def load(ws: Workspace) -> Search:
    """The workspace's built search, loaded once per build (a rebuild is picked up by the next call)."""
    from shoplens.search.base import SETTINGS_FILE, Search

    folder = ws.dir("search")
    settings = folder / SETTINGS_FILE
    if not settings.exists():
        raise NotFound(f"no search index in {folder}; build one with `shoplens search build`")
    key = (str(Path(folder).resolve()), settings.stat().st_mtime)
    with _OPENING:
        if key not in _OPEN:
            _OPEN.clear()  # one build per workspace folder at a time
            _OPEN[key] = Search.load(folder)
        return _OPEN[key]


def warm(ws: Workspace) -> None:
    """Load the built index, its ranker and the query encoder and answer one query (the service's start-up), so
    that the first shopper does not wait for them; nothing when no index is built."""
    if is_built(ws):
        load(ws).query("warm up", k=1)


def finetune(ws: Workspace, *, seconds: float = 600.0, seed: int = 0, deploy: bool = True) -> tuple[SearchEncoder,
                                                                                                       Any]:
    """Fine-tune the search encoder on the workspace's pairs and register it (deployed when it beat
    off-the-shelf on validation, so that the next build uses it)."""
    from shoplens.search.encoder import SearchEncoder

    model = SearchEncoder(seconds=seconds, seed=seed).fit(ws)
    records = [r.to_json_dict() for r in model.evaluate(ws)]
    verdict = "beats" if model.beats_base_ else "does not beat"
    card = model.register(ws, deploy=deploy and model.beats_base_, metrics=records,
                          notes=f"{verdict} off-the-shelf MiniLM on validation products "
                                f"(MRR@10 {model.validation_['finetuned_mrr@10']} vs "
                                f"{model.validation_['off_the_shelf_mrr@10']})")
    return model, card


def answer(ws: Workspace, text: str, *, k: int = 10, filters: dict[str, Any] | None = None,
           explain: bool = False) -> dict[str, Any]:
    """One query against the workspace's built index, as the service answers it (``SearchPage.to_dict``);
    ``NotFound`` when there is no index."""
    return load(ws).query(text, k=k, filters=filters, explain=explain).to_dict()
