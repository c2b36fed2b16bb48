"""Hot reload: the deployed models the service answers with, swapped when another version is deployed.

``live_models(workspace_path).get(name, loader)`` returns the :class:`Served` model — one immutable snapshot
(name, version, card, the loaded model). A request keeps the snapshot it got for its whole life, so a request in
flight finishes on the version it started with while the next one gets the new version.

Each ``get`` reads the model's ``DEPLOYED`` pointer. When it names another version, that version is loaded in a
thread beside the serving one and swapped in once it has loaded: requests never wait for a deploy. When the
serving version's own files were rewritten (an erasure, ``shoplens forget``), the request loads them before it
answers: an erased customer is never served from the old files. A version that fails to load leaves the old one
serving; the failure is logged and shown by ``/healthz`` (``models``) until a version loads.

A watcher thread (started with the app, :meth:`LiveModels.watch`) makes the same check every ``check_every_s``
seconds, so a deploy is loaded, and ``/healthz`` up to date, without waiting for a request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shoplens.errors import ShoplensError
from shoplens.registry import ModelCard, ModelRegistry, read_card
from shoplens.workspace import Workspace

log = logging.getLogger("shoplens.serve.models")
CHECK_EVERY_S = 1.0
MODEL_VERSION_HEADER = "X-Model-Version"  # on every answer a served model gave: name@version
Loader = Callable[[Path], Any]  # a version folder → the loaded model
Signature = tuple[str, int, int]  # (version, inode and mtime of its card.json): a rewritten folder is another one


class ModelUnavailable(ShoplensError):
    """The deployed version cannot be loaded and no earlier one is serving (503)."""


@dataclass(frozen=True)
class Served:
    """One loaded version, as a request sees it from start to end."""

    name: str
    version: str
    card: ModelCard
    model: Any
    signature: Signature

    @property
    def header(self) -> str:
        """``name@version``: the ``X-Model-Version`` of the answers it gave."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class LoadFailure:
    version: str
    reason: str
    at: str
    signature: Signature


@dataclass(frozen=True)
class ModelState:
    """What ``/healthz`` says of one model: the version serving, the one deployed, and why they differ."""

    name: str
    serving: str | None
    deployed: str | None
    state: str  # "current" (serving the deployed version), "loading" (a newer one is being loaded) or "failed"
    error: str | None = None


class LiveModels:
    """The served models of one workspace (one per process and workspace: :func:`live_models`)."""

    def __init__(self, workspace_path: Path, check_every_s: float = CHECK_EVERY_S) -> None:
        self.workspace_path = workspace_path
        self.check_every_s = check_every_s
        self._served: dict[str, Served] = {}
        self._failed: dict[str, LoadFailure] = {}
        self._loaders: dict[str, Loader] = {}
        self._lock = threading.Lock()  # guards the dictionaries
        self._loading: dict[str, threading.Lock] = {}  # one load of a model at a time
        self._background: set[str] = set()  # models being loaded beside the serving version
        self._watchers = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- requests ---------------------------------------------------------------------------------------
    def get(self, name: str, loader: Loader, ws: Workspace | None = None) -> Served:
        """The version serving ``name`` for one request (``ws``: the request's workspace, else opened here).

        Each call reads the ``DEPLOYED`` pointer (a file read and a stat). Another version deployed → the
        serving one answers while the new one loads beside it. The serving version's files rewritten in place
        (an erasure) → the rewritten files are loaded now: an erased customer is never served from the old
        ones. No version → ``NotFound``; none can be loaded → :class:`ModelUnavailable`."""
        with self._lock:
            self._loaders.setdefault(name, loader)
            served = self._served.get(name)
        if served is None:
            return self._first_load(name, ws)
        try:
            folder, signature = self._deployed(name, ws)
        except (ShoplensError, OSError):  # the registry cannot say now (a folder being replaced): keep serving
            return served
        if signature == served.signature:
            return served
        if signature[0] == served.version:
            return self._reload_now(name, folder, signature)
        self._load_beside(name)
        return served

    def serving_now(self, name: str, ws: Workspace | None = None) -> Served | None:
        """What :meth:`get` returns when it has nothing to load: the serving version while the ``DEPLOYED`` pointer
        names it and its files are unchanged (a file read and a stat, for the event loop); None otherwise."""
        with self._lock:
            served = self._served.get(name)
        if served is None:
            return None
        try:
            _, signature = self._deployed(name, ws)
        except (ShoplensError, OSError):
            return None
        return served if signature == served.signature else None

    def _first_load(self, name: str, ws: Workspace | None = None) -> Served:
        with self._load_lock(name):
            served = self._served.get(name)
            if served is not None:
                return served
            folder, signature = self._deployed(name, ws)
            failed = self._failed.get(name)
            if failed is not None and failed.signature == signature:  # tried already: not again per request
                raise ModelUnavailable(f"model {name!r} version {failed.version} cannot be loaded: {failed.reason}")
            return self._load_or_raise(name, folder, signature)

    def _reload_now(self, name: str, folder: Path, signature: Signature) -> Served:
        with self._load_lock(name):
            served = self._served[name]
            if served.signature == signature:  # another request reloaded it meanwhile
                return served
            with self._lock:
                del self._served[name]  # the old files' model is not served again, whatever happens next
            return self._load_or_raise(name, folder, signature)

    def _load_or_raise(self, name: str, folder: Path, signature: Signature) -> Served:
        try:
            return self._load(name, folder, signature)
        except Exception as exc:  # any failure of a capability's loader: the model is unavailable
            failure = self._record_failure(name, signature, exc)
            raise ModelUnavailable(f"model {name!r} version {failure.version} cannot be loaded: "
                                   f"{failure.reason}") from None

    def _load_beside(self, name: str) -> None:
        """Load the newly deployed version in a thread of its own (one per model at a time)."""
        with self._lock:
            if name in self._background:
                return
            self._background.add(name)

        def run() -> None:
            try:
                self.refresh(name)
            finally:
                with self._lock:
                    self._background.discard(name)

        threading.Thread(target=run, name=f"shoplens-load-{name}", daemon=True).start()

    # -- reloading ----------------------------------------------------------------------------------------
    def refresh(self, name: str | None = None) -> None:
        """Load the deployed version of ``name`` (of every served model when None) where it changed; the
        serving version stays until the new one has loaded, and stays when it fails to."""
        names = [name] if name else list(self._served)
        for each in names:
            try:
                folder, signature = self._deployed(each)
            except ShoplensError as exc:  # the registry cannot say (a missing workspace): keep serving
                log.warning("model %s: cannot read the deployed version (%s); still serving the one loaded",
                            each, exc)
                continue
            served, failed = self._served.get(each), self._failed.get(each)
            if (served and served.signature == signature) or (failed and failed.signature == signature):
                continue  # nothing new (a failed version is tried again once it is deployed or written again)
            with self._load_lock(each):
                if self._served.get(each) and self._served[each].signature == signature:
                    continue
                try:
                    self._load(each, folder, signature)
                except Exception as exc:  # the old version keeps serving; /healthz and the log say why
                    self._record_failure(each, signature, exc)

    def _load(self, name: str, folder: Path, signature: Signature) -> Served:
        started = time.perf_counter()
        previous = self._served.get(name)
        loaded = Served(name=name, version=signature[0], card=read_card(folder),
                        model=self._loaders[name](folder), signature=signature)
        with self._lock:
            self._served[name] = loaded  # the swap: requests from now on get the new version
            self._failed.pop(name, None)
        log.info("model %s: serving version %s (was %s; loaded in %.2f s)", name, loaded.version,
                 previous.version if previous else "none", time.perf_counter() - started)
        return loaded

    def _record_failure(self, name: str, signature: Signature, exc: Exception) -> LoadFailure:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split()).replace(str(self.workspace_path), "<workspace>")
        failure = LoadFailure(version=signature[0], reason=reason[:500],
                              at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), signature=signature)
        with self._lock:
            self._failed[name] = failure
            serving = self._served.get(name)
        log.error("model %s: version %s failed to load (%s); %s", name, failure.version, failure.reason,
                  f"still serving version {serving.version}" if serving else "no version is serving",
                  exc_info=exc)
        return failure

    def _deployed(self, name: str, ws: Workspace | None = None) -> tuple[Path, Signature]:
        folder = ModelRegistry(ws or Workspace.open(self.workspace_path)).path(name)
        stat = (folder / "card.json").stat()
        return folder, (folder.name, stat.st_ino, stat.st_mtime_ns)

    # -- health -------------------------------------------------------------------------------------------
    def states(self) -> list[ModelState]:
        """Every model served or tried, with the deployed version the registry names now."""
        with self._lock:
            names = sorted(set(self._served) | set(self._failed))
            served, failed = dict(self._served), dict(self._failed)
        out = []
        for name in names:
            deployed = self._deployed_version(name)
            serving = served[name].version if name in served else None
            failure = failed.get(name)
            if failure is not None and failure.version == deployed:
                state, error = "failed", f"version {failure.version} failed to load at {failure.at}: {failure.reason}"
            else:
                state, error = ("current" if serving == deployed else "loading"), None
            out.append(ModelState(name=name, serving=serving, deployed=deployed, state=state, error=error))
        return out

    def _deployed_version(self, name: str) -> str | None:
        try:
            return self._deployed(name)[0].name
        except (ShoplensError, OSError):
            return None

    # -- the watcher ----------------------------------------------------------------------------------------
    def watch(self) -> None:
        """Start the watcher thread (once however many apps serve this workspace)."""
        with self._lock:
            self._watchers += 1
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="shoplens-model-watcher", daemon=True)
            self._thread.start()

    def unwatch(self) -> None:
        """One app stopped; the watcher stops with the last, and the loaded models are let go."""
        with self._lock:
            self._watchers = max(0, self._watchers - 1)
            thread = self._thread if self._watchers == 0 else None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=30)
            with _BY_WORKSPACE_LOCK:
                if _BY_WORKSPACE.get(self.workspace_path) is self and self._watchers == 0:
                    del _BY_WORKSPACE[self.workspace_path]

    def _run(self) -> None:
        while not self._stop.wait(self.check_every_s):
            try:
                self.refresh()
            except Exception:  # the watcher must outlive any one bad check; the next tick tries again
                log.exception("model watcher: a check failed")

    def _load_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(name, threading.Lock())


_BY_WORKSPACE: dict[Path, LiveModels] = {}
_BY_WORKSPACE_LOCK = threading.Lock()


def live_models(workspace_path: Path, check_every_s: float | None = None) -> LiveModels:
    """The process's served models of a workspace (created on first use; ``check_every_s`` set by the app)."""
    key = Path(workspace_path).resolve()
    with _BY_WORKSPACE_LOCK:
        models = _BY_WORKSPACE.get(key)
        if models is None:
            models = _BY_WORKSPACE[key] = LiveModels(key)
        if check_every_s is not None:
            models.check_every_s = check_every_s
        return models
