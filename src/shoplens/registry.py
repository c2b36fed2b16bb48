"""The model registry: versioned model folders in ``models/`` with a card, and which version is deployed.

```
models/<name>/<version>/        the files a capability's ``save`` wrote
models/<name>/<version>/card.json   data fingerprint, parameters, metrics with their protocol
models/<name>/<version>/**/curves.json  training curves (loss and validation metric per step), when it trains in steps
models/<name>/DEPLOYED          the version the service loads
models/<name>/HISTORY.jsonl     every deploy and rollback: when, which version, the one before, by whom
models/<name>/decisions.jsonl   retraining decisions (champion/challenger): one JSON object a line, oldest first
```

A version is written into a temporary folder and renamed into place, so a failed training run leaves
the registry as it was. ``DEPLOYED`` is replaced whole (a reader sees the old version or the new one); the
history line follows it, so a crash between the two leaves a pointer that :meth:`ModelRegistry.rollback` still
reads right (the pointer wins over the history).

Rollback undoes deploys: the history replayed as a stack (a deploy pushes its version, a rollback pops one)
says which version was deployed before the current one; rolling back twice goes two deploys back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoplens._files import replace_folder
from shoplens.errors import InputError, NotFound

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

DEPLOYED_FILE = "DEPLOYED"
DECISIONS_FILE = "decisions.jsonl"
HISTORY_FILE = "HISTORY.jsonl"
LOCK_FILE = ".deploy.lock"
CURVES_FILE = "curves.json"
TENSORBOARD_DIR = "tensorboard"
MAX_NAME_CHARS = 200
MAX_CURVE_DEPTH = 3  # curves.json sits in the version folder or in a part of it (``en/``, ``zh/``)
Curves = dict[str, list[dict[str, float]]]  # {"train": [{"step", "loss", …}], "validation": [{"step", "metric", …}]}


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


@dataclass(frozen=True)
class DeployEvent:
    """One line of a model's deploy history: ``version`` became the deployed one, replacing ``previous``."""

    ts: str
    action: str  # "deploy" or "rollback"
    version: str
    previous: str | None
    by: str  # who: "cli", "python", "api key 3f9c0a1b (ops, admin)" …
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ModelRegistry:
    """Models of one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.root = ws.dir("models")
        self.last_event: DeployEvent | None = None  # the deploy or rollback this registry object wrote last

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
        _check_name(name)
        folder = self.root / name
        cards = [self._card(p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")] \
            if folder.is_dir() else []
        return cards

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _valid(p.name) and self.versions(p.name))

    def path(self, name: str, version: str = "deployed") -> Path:
        """Folder of a version: an explicit one, ``"latest"`` or ``"deployed"`` (falls back to latest)."""
        _check_name(name)
        _check_name(version, "version")
        if version in ("latest", "deployed"):
            deployed = self.deployed_version(name) if version == "deployed" else None
            if deployed is not None:
                version = deployed
            else:
                versions = self.versions(name)
                if not versions:
                    raise NotFound(f"no model {name!r} in the registry; train one first"
                                   f"{_known(self.names())}")
                version = versions[-1].version
        folder = self.root / name / version
        if not (folder / "card.json").exists():
            if not self.versions(name):
                raise NotFound(f"no model {name!r} in the registry; train one first{_known(self.names())}")
            raise NotFound(f"model {name!r} has no version {version!r}; "
                           f"`shoplens models show {name}` lists its versions")
        return folder

    def card(self, name: str, version: str = "deployed") -> ModelCard:
        return self._card(self.path(name, version))

    def deployed_version(self, name: str) -> str | None:
        """The version ``DEPLOYED`` names, or None when none was deployed (no fallback to the latest)."""
        _check_name(name)
        try:
            return (self.root / name / DEPLOYED_FILE).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def deploy(self, name: str, version: str = "latest", *, by: str = "python", reason: str = "") -> ModelCard:
        """Mark a version as the one the service loads, and write it in the model's deploy history."""
        with self._deploy_lock(name):
            card = self.card(name, version)
            self._point(name, card.version, "deploy", by, reason)
        return card

    def rollback(self, name: str, *, by: str = "python", reason: str = "") -> ModelCard:
        """Deploy again the version that was deployed before the current one (see the module); the rollback is
        written in the history too. Nothing deployed before → ``InputError``; that version removed → ``NotFound``."""
        with self._deploy_lock(name):
            stack = self._deploy_stack(name)
            if not stack:
                raise InputError(f"model {name!r} has no deployed version to roll back; deploy one with "
                                 f"`shoplens models deploy {name} VERSION`")
            if len(stack) < 2:
                raise InputError(f"model {name!r}: nothing to roll back to — {stack[-1]} is the first version its "
                                 "deploy history holds")
            target = stack[-2]
            try:
                card = self.card(name, target)
            except NotFound:
                raise NotFound(f"model {name!r}: version {target}, deployed before {stack[-1]}, is no longer in the "
                               "registry; deploy a version by name instead") from None
            self._point(name, card.version, "rollback", by, reason)
        return card

    def rollback_target(self, name: str) -> str | None:
        """The version a rollback would deploy now (None when there is none)."""
        stack = self._deploy_stack(name)
        return stack[-2] if len(stack) >= 2 else None

    def history(self, name: str) -> list[DeployEvent]:
        """The model's deploys and rollbacks, oldest first (a line cut short by a crash is skipped)."""
        _check_name(name)
        path = self.root / name / HISTORY_FILE
        if not path.exists():
            return []
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, TypeError):
                events.append(DeployEvent(**json.loads(line)))
        return events

    def deployed(self) -> dict[str, ModelCard]:
        return {n: self.card(n) for n in self.names() if self.deployed_version(n) is not None}

    def diff(self, name: str, a: str, b: str) -> dict[str, Any]:
        """Two versions side by side: data fingerprint, parameters, and every metric of their cards (matched by
        model, role, dataset and variant), with the change from ``a`` to ``b``."""
        card_a, card_b = self.card(name, a), self.card(name, b)
        params = [{"param": key, "a": card_a.params.get(key), "b": card_b.params.get(key),
                   "changed": card_a.params.get(key) != card_b.params.get(key)}
                  for key in sorted(set(card_a.params) | set(card_b.params))]
        return {"name": name, "a": card_a.version, "b": card_b.version,
                "created_at": {"a": card_a.created_at, "b": card_b.created_at},
                "data_fingerprint": {"a": card_a.data_fingerprint, "b": card_b.data_fingerprint,
                                     "same": card_a.data_fingerprint == card_b.data_fingerprint},
                "params": params, "metrics": _metric_rows(card_a.metrics, card_b.metrics)}

    def curves(self, name: str, version: str = "deployed") -> dict[str, Curves]:
        """The training curves a version holds, by part (``""`` for the version folder itself, ``"en"`` for a
        part of it): its ``curves.json`` files, else its TensorBoard event files (when tensorboard is
        installed). Empty for a model fitted in one go (EASE, ItemKNN, a forecaster)."""
        return read_curves(self.path(name, version))

    # -- internals ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _deploy_lock(self, name: str) -> Iterator[None]:
        """One deploy or rollback of a model at a time, across processes (the CLI beside the service)."""
        _check_name(name)
        folder = self.root / name
        if not folder.is_dir():
            raise NotFound(f"no model {name!r} in the registry; train one first{_known(self.names())}")
        with open(folder / LOCK_FILE, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _point(self, name: str, version: str, action: str, by: str, reason: str) -> None:
        """``DEPLOYED`` replaced whole, then one history line appended (flushed to disk)."""
        previous = self.deployed_version(name)
        pointer = self.root / name / DEPLOYED_FILE
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(version, encoding="utf-8")
        tmp.replace(pointer)
        event = DeployEvent(ts=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"), action=action,
                            version=version, previous=previous, by=by, reason=reason)
        append_line(self.root / name / HISTORY_FILE, event.to_dict())
        self.last_event = event

    def _deploy_stack(self, name: str) -> list[str]:
        """The history replayed: deploys push, rollbacks pop; the pointer, when it names another version
        (written by hand, or a crash before the history line), is on top."""
        stack: list[str] = []
        for event in self.history(name):
            if event.action == "rollback" and stack:
                stack.pop()
            if not stack or stack[-1] != event.version:
                stack.append(event.version)
        current = self.deployed_version(name)
        if current is not None and (not stack or stack[-1] != current):
            stack.append(current)
        return stack

    # -- retraining decisions (champion/challenger, shoplens.retrain) --------------------------------------
    def record_decision(self, name: str, decision: dict[str, Any]) -> dict[str, Any]:
        """Append a retraining decision (scores, window, reason, whether it deployed) to ``name``'s log."""
        _check_name(name)
        entry = {"recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **decision}
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        append_line(folder / DECISIONS_FILE, entry)
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
        return read_card(folder)


def read_card(folder: Path) -> ModelCard:
    """The card of a version folder."""
    return ModelCard(**json.loads((folder / "card.json").read_text(encoding="utf-8")))


def write_curves(folder: Path, curves: Curves) -> None:
    """``curves.json`` for the dashboard (``{"train": [{"step", "loss", …}], "validation": [{"step", "metric",
    …}]}``), and the same numbers as TensorBoard event files in ``tensorboard/`` when tensorboard is installed."""
    (folder / CURVES_FILE).write_text(json.dumps(curves), encoding="utf-8")
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard (and torch) are optional: curves.json carries the same numbers
        return
    writer = SummaryWriter(log_dir=str(folder / TENSORBOARD_DIR))
    for series, points in curves.items():
        for point in points:
            for measure, value in point.items():
                if measure not in ("step", "epoch", "seconds") and _finite(value):
                    writer.add_scalar(f"{series}/{measure}", value, int(point["step"]))
    writer.close()


def read_curves(folder: Path) -> dict[str, Curves]:
    """Curves of a version folder by part (see :meth:`ModelRegistry.curves`)."""
    found: dict[str, Curves] = {}
    for path in sorted(folder.rglob(CURVES_FILE)):
        part = path.parent.relative_to(folder)
        if len(part.parts) < MAX_CURVE_DEPTH:
            with contextlib.suppress(ValueError, OSError):
                found[part.as_posix() if part.parts else ""] = _clean_curves(json.loads(path.read_text("utf-8")))
    for events in sorted(folder.rglob(TENSORBOARD_DIR)):
        part = events.parent.relative_to(folder)
        key = part.as_posix() if part.parts else ""
        if events.is_dir() and key not in found and len(part.parts) < MAX_CURVE_DEPTH:
            curves = _tensorboard_curves(events)
            if curves:
                found[key] = curves
    return {part: curves for part, curves in found.items() if any(curves.values())}


def _clean_curves(data: Any) -> Curves:
    """Series of points with a numeric ``step``; values that are not finite numbers left out."""
    if not isinstance(data, dict):
        return {}
    out: Curves = {}
    for series, points in data.items():
        if not isinstance(points, list):
            continue
        kept = [{k: float(v) for k, v in p.items() if _finite(v)} for p in points if isinstance(p, dict)]
        out[str(series)] = [p for p in kept if "step" in p]
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _tensorboard_curves(folder: Path) -> Curves:
    """``train/loss`` … and ``validation/metric`` … scalars of TensorBoard event files, as curves."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:  # tensorboard is optional (shoplens[text]); curves.json carries the same numbers
        return {}
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    by_step: dict[str, dict[int, dict[str, float]]] = {}
    for tag in accumulator.Tags().get("scalars", []):
        series, _, measure = tag.partition("/")
        for event in accumulator.Scalars(tag):
            point = by_step.setdefault(series, {}).setdefault(event.step, {"step": float(event.step)})
            point[measure or series] = float(event.value)
    return {series: [steps[s] for s in sorted(steps)] for series, steps in by_step.items()}


def _metric_rows(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (role, dataset, variant, metric) found in either card's records; baselines are matched by
    model too, the model measured as ``ours`` is not (a version may hold another model: SASRec after EASE)."""
    def index(records: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
        out: dict[tuple[str, ...], dict[str, Any]] = {}
        for record in records:
            role = str(record.get("role", ""))
            ident = (role, "" if role == "ours" else str(record.get("model", "")),
                     str(record.get("dataset", "")), str(record.get("variant", "")))
            for metric in record.get("metrics") or {}:
                out[(*ident, metric)] = record
        return out

    left, right = index(a), index(b)
    rows = []
    for key in sorted(set(left) | set(right), key=lambda k: (k[2], k[3], k[0] != "ours", k[1], k[4])):
        record_a, record_b = left.get(key, {}), right.get(key, {})
        value_a, value_b = (record_a.get("metrics") or {}).get(key[4]), (record_b.get("metrics") or {}).get(key[4])
        models = list(dict.fromkeys(str(r["model"]) for r in (record_a, record_b) if r.get("model")))
        delta = value_b - value_a if _finite(value_a) and _finite(value_b) else None
        rows.append({"role": key[0], "model": " → ".join(models), "dataset": key[2], "variant": key[3],
                     "metric": key[4], "protocol": protocol_label((record_a or record_b).get("protocol")),
                     "a": value_a, "b": value_b, "delta": delta})
    return rows


def protocol_label(protocol: Any) -> str:
    """A record's protocol as a short label (``per-user stratified 75/25, seed 42, full ranking, k=10``)."""
    from shoplens.evaluation.records import Protocol

    if not isinstance(protocol, dict):
        return ""
    try:
        return Protocol(**protocol).label()
    except (TypeError, ValueError):
        return ", ".join(f"{k} {v}" for k, v in protocol.items() if v not in (None, "", []))


def _known(names: list[str]) -> str:
    return f" (models here: {', '.join(names)})" if names else ""


def _valid(name: str) -> bool:
    return bool(name) and len(name) <= MAX_NAME_CHARS and not name.startswith(".") and \
        all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)


def _check_name(name: str, what: str = "model name") -> None:
    """Names and versions are folder names: refused when they could leave ``models/`` (``..``, ``/``)."""
    if not _valid(name):
        raise InputError(f"{what} {name!r}: use letters, digits, '-', '_' and '.' (not first), "
                         f"at most {MAX_NAME_CHARS} characters")


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """One JSON line appended to a log (the deploy history, the retraining decisions) and flushed to disk."""
    line = (json.dumps(entry, default=str, ensure_ascii=False) + "\n").encode("utf-8")
    if _ends_torn(path):
        line = b"\n" + line  # start on a line of its own after a torn one
    # one write on an O_APPEND descriptor: a crash leaves whole lines and at most a torn last one (skipped)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _ends_torn(path: Path) -> bool:
    """Whether a log file ends inside a line (its last write was cut short)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


