"""What the CLI, the pipeline and the service call: train the workspace's assistant, open it, ask it.

```python
from shoplens.assistant import api
api.train(ws)                                         # Assistant().fit(ws): ws/assistant/model/ rebuilt whole
api.ask(ws, "how long does delivery take?")           # a Reply as a dict (the trained model, opened once per build)
api.ask(ws, "where is order 1042?", customer_id="C42")   # the caller vouches for the customer
```
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoplens.errors import NotFound

if TYPE_CHECKING:
    from shoplens.assistant.base import Assistant
    from shoplens.workspace import Workspace

_OPEN: dict[tuple[str, float], Assistant] = {}
_OPENING = threading.Lock()  # the service's warm-up and its first request must not both load the models


def model_folder(ws: Workspace) -> Path:
    from shoplens.assistant.base import FOLDER, MODEL_DIR

    return ws.path / FOLDER / MODEL_DIR


def train(ws: Workspace, *, seed: int = 0, **params: Any) -> Assistant:
    """Train the workspace's assistant (only reads the warehouse; the model folder is replaced whole); ``params``:
    the :class:`~shoplens.assistant.base.Assistant`'s (``reviews_per_product`` …)."""
    from shoplens.assistant.base import Assistant

    return Assistant(seed=seed, **params).fit(ws)


def is_trained(ws: Workspace) -> bool:
    from shoplens.assistant.base import SETTINGS_FILE

    return (model_folder(ws) / SETTINGS_FILE).exists()


def load(ws: Workspace) -> Assistant:
    """The workspace's trained assistant, loaded once per training (a retrain is picked up by the next call)."""
    from shoplens.assistant.base import SETTINGS_FILE, Assistant

    folder = model_folder(ws)
    settings = folder / SETTINGS_FILE
    if not settings.exists():
        raise NotFound(f"no assistant in {folder}; train one with `shoplens assistant train`")
    key = (str(folder.resolve()), settings.stat().st_mtime)
    with _OPENING:
        if key not in _OPEN:
            _OPEN.clear()
            _OPEN[key] = Assistant.load(folder, ws)
        return _OPEN[key]


def ask(ws: Workspace, question: str, *, customer_id: str | None = None, history: list[str] | None = None,
        product_id: str | None = None, channel: str = "python", generate: bool = False,
        on_token: Callable[[str], None] | None = None) -> dict[str, Any]:
    """One reply of the workspace's assistant, as JSON-ready values (``generate``: rewritten by the language model
    named by ``$SHOPLENS_LLM``, default Qwen, checked; tokens go to ``on_token`` as they come)."""
    return load(ws).ask(question, customer_id=customer_id, history=history, product_id=product_id,
                        channel=channel, generate=generate, on_token=on_token).to_dict()


def warm(ws: Workspace) -> None:
    """Load the trained assistant and answer one question (the service's start-up); nothing when none is trained."""
    if is_trained(ws):
        load(ws).ask("warm up")
