"""The surface every shoplens model shares, decided once (scikit-learn's ``BaseEstimator``, for a shop).

```python
model = sl.recommend.EASE(lam=300)          # parameters only in the constructor, no work there
model.fit(ws)                               # a Workspace, or the capability's documented frame → self
model.recommend("C42")                      # the capability's own verbs: recommend, predict, forecast …
records = model.evaluate(test, dataset="ml100k")   # benchmark records: metrics with their protocol
card = model.register(ws, deploy=True)      # a new version in the workspace's model registry
same = type(model).from_registry(ws)        # the deployed version (save/load underneath)
```

A capability's model subclasses :class:`Estimator`, keeps its parameters as attributes named like the
constructor's arguments, names its fitted state with a trailing underscore, and implements ``fit``,
``evaluate``, ``save`` and ``load``; ``registry_name`` and ``capability`` place it in the registry.
Models that learn from arrays inside a capability (text classifiers) follow :class:`TextClassifier`.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from shoplens.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np


class Params:
    """Parameters as scikit-learn has them: the constructor's arguments, kept as attributes of the same names
    (no work in ``__init__``). Declare them as dataclass fields — ``@dataclass(eq=False, repr=False)`` on the
    class — or write the ``__init__`` by hand; either way ``get_params`` reads the constructor's signature."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        known = self.get_params()
        for key, value in params.items():
            if key not in known:
                raise InputError(f"{type(self).__name__} has no parameter {key!r}; parameters are {', '.join(known)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    @classmethod
    def from_saved_params(cls, params: dict[str, Any]) -> Self:
        """A new instance from parameters as a saved model stored them (JSON): names this class no longer
        has are left out, and lists become tuples again where the parameter's default is a tuple."""
        signature = inspect.signature(cls.__init__).parameters
        known = {}
        for name, value in params.items():
            if name in signature and name != "self":
                default = signature[name].default
                known[name] = tuple(value) if isinstance(value, list) and isinstance(default, tuple) else value
        return cls(**known)


class Estimator(Params):
    """Base of every capability model: parameters, ``fit`` → self, ``evaluate``, ``save``/``load``, registry."""

    registry_name: ClassVar[str] = ""  # the model's name in the workspace's registry (``models/<name>/``)
    capability: ClassVar[str] = ""

    # -- the surface a capability fills in ----------------------------------------------------------------
    def fit(self, data: Any) -> Self:
        raise NotImplementedError

    def evaluate(self, data: Any, *, dataset: str | None = None, **protocol: Any) -> list[Any]:
        """Benchmark records (``shoplens.evaluation.records.BenchmarkRecord``) of the fitted model on ``data``,
        each naming its protocol, with the capability's baselines beside it where the capability has them."""
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | Path) -> Self:
        raise NotImplementedError

    # -- the registry -------------------------------------------------------------------------------------
    def register(self, ws: Any, *, deploy: bool = False, metrics: list[dict[str, Any]] | None = None,
                 notes: str = "") -> Any:
        """Save as a new version in the workspace's registry (with a card: data fingerprint, parameters,
        metrics); ``deploy`` makes it the version the service loads. Returns the card."""
        if not self.registry_name:
            raise InputError(f"{type(self).__name__} has no registry name")
        card = ws.models.save(self.registry_name, self.capability, self.save, params=self.card_params(),
                              metrics=metrics, notes=notes)
        if deploy:
            ws.models.deploy(self.registry_name, card.version)
        return card

    def card_params(self) -> dict[str, Any]:
        """The parameters a registry card records (as JSON values)."""
        return json_safe(self.get_params())

    @classmethod
    def from_registry(cls, ws: Any, version: str = "deployed") -> Self:
        """A version from the workspace's registry: ``deployed`` (default; the latest when none is), ``latest``
        or an explicit version."""
        return cls.load(ws.models.path(cls.registry_name, version))


class TextClassifier(Protocol):
    """What the array-level text classifiers inside a capability share (``text.classifier``,
    ``reviews.linear``, ``reviews.chinese``): :class:`Params`, learning from texts and integer labels (not from a
    workspace), probabilities over ``class_names_``, saved inside the capability model that owns them."""

    class_names_: list[str]

    def fit(self, texts: Sequence[str], labels: Sequence[int], **validation: Any) -> Self: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def save(self, folder: str | Path) -> Path: ...


def json_safe(value: Any) -> Any:
    """Parameters as JSON values (tuples → lists, numpy scalars → Python, anything else unknown → text)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
