"""The model registry: versioned model folders in ``models/`` with a card, and which version is deployed.

```
models/<name>/<version>/        the files a capability's ``save`` wrote
models/<name>/<version>/card.json   data fingerprint, parameters, metrics with their protocol
models/<name>/DEPLOYED          the version the service loads
models/<name>/decisions.jsonl   retraining decisions (champion/challenger): one JSON object a line, oldest first
```

A version is written into a temporary folder and renamed into place, so a failed training run leaves
the registry as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoplens._files import replace_folder
from shoplens.errors import InputError, NotFound

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

DECISIONS_FILE = "decisions.jsonl"


@dataclass
class ModelCard:
    name: str
    version: str
    capability: str
    created_at: str
    data_fingerprint: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # benchmark records (evaluation.records)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ModelRegistry:
    """Models of one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.root = ws.dir("models")

    def save(self, name: str, capability: str, write_files: Callable[[Path], None], *,
             params: dict[str, Any] | None = None, metrics: list[dict[str, Any]] | None = None,
             notes: str = "") -> ModelCard:
        """Write a new version: ``write_files(folder)`` fills the folder, then it is renamed into place."""
        _check_name(name)
        version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        card = ModelCard(name=name, version=version, capability=capability,
                         created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         data_fingerprint=self.ws.data_fingerprint(), params=params or {},
                         metrics=metrics or [], notes=notes)

        def fill(staging: Path) -> None:
            write_files(staging)
            (staging / "card.json").write_text(json.dumps(card.to_dict(), indent=2, default=str), encoding="utf-8")

        replace_folder(self.root / name / version, fill)
        return card

    def versions(self, name: str) -> list[ModelCard]:
        """Cards of every version of ``name``, oldest first."""
        folder = self.root / name
        cards = [self._card(p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")] \
            if folder.is_dir() else []
        return cards

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def path(self, name: str, version: str = "deployed") -> Path:
        """Folder of a version: an explicit one, ``"latest"`` or ``"deployed"`` (falls back to latest)."""
        if version in ("latest", "deployed"):
            deployed = self.root / name / "DEPLOYED"
            if version == "deployed" and deployed.exists():
                version = deployed.read_text(encoding="utf-8").strip()
            else:
                versions = self.versions(name)
                if not versions:
                    raise NotFound(f"no model {name!r} in {self.root}; train one first")
                version = versions[-1].version
        folder = self.root / name / version
        if not (folder / "card.json").exists():
            raise NotFound(f"model {name!r} has no version {version!r}")
        return folder

    def card(self, name: str, version: str = "deployed") -> ModelCard:
        return self._card(self.path(name, version))

    def deploy(self, name: str, version: str = "latest") -> ModelCard:
        """Mark a version as the one the service loads."""
        card = self.card(name, version)
        pointer = self.root / name / "DEPLOYED"
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(card.version, encoding="utf-8")
        tmp.replace(pointer)
        return card

    def deployed(self) -> dict[str, ModelCard]:
        return {n: self.card(n) for n in self.names() if (self.root / n / "DEPLOYED").exists()}

    # -- retraining decisions (champion/challenger, shoplens.retrain) --------------------------------------
    def record_decision(self, name: str, decision: dict[str, Any]) -> dict[str, Any]:
        """Append a retraining decision (scores, window, reason, whether it deployed) to ``name``'s log."""
        _check_name(name)
        entry = {"recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **decision}
        line = (json.dumps(entry, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        if _ends_torn(folder / DECISIONS_FILE):
            line = b"\n" + line  # start on a line of its own after a torn one
        # one write on an O_APPEND descriptor: a crash leaves whole lines and at most a torn last one (skipped)
        fd = os.open(folder / DECISIONS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    def decisions(self, name: str) -> list[dict[str, Any]]:
        """Retraining decisions of ``name``, oldest first (none recorded: an empty list)."""
        path = self.root / name / DECISIONS_FILE
        if not path.exists():
            return []
        entries = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:  # the torn last line of a write cut short
                continue
        return entries

    @staticmethod
    def _card(folder: Path) -> ModelCard:
        return ModelCard(**json.loads((folder / "card.json").read_text(encoding="utf-8")))


def _ends_torn(path: Path) -> bool:
    """Whether a log file ends inside a line (its last write was cut short)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise InputError(f"model name {name!r}: use letters, digits, '-', '_' and '.'")
