"""``shoplens run``: the seed's six steps as named stages, filled by the capabilities.

Stages, in order: prepare data → load pretrained model → preprocess → features and training →
evaluation → deployment. Each capability registers its steps in its own ``steps.py`` with
:func:`step`; a stage with no step registered is shown as such, never faked.

``shoplens run --engine spark`` runs the steps registered for the Spark engine instead (``step(…, engine="spark")``):
the analyses and every deployed model's batch scoring on Spark (docs/scale.md, "Batch scoring on Spark"). Steps of
one run share what they open (a Spark session) through :meth:`RunContext.shared`, closed when the run ends.

A run records its progress in ``reports/run-progress.json`` (rewritten whole as each step starts and ends), so
that a run cut short — Ctrl-C, a killed process — can be told from a finished one (:func:`last_run`).

Runs are incremental (``full_rerun=False``, the default of ``shoplens run``): a step that names what it reads
(``step(…, reads=(…))``) and whose inputs, parameters and code are those of its last ``ok`` run is not run again
(status ``unchanged``; its summary and JSON outputs are those of that run), unless a step of its capability before
it ran in this run. A step whose inputs only grew a little may reuse what it built (:meth:`RunContext.reusable`):
the deployed model scores the new rows instead of a retrain. ``shoplens.runstate`` keeps the records.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from shoplens import runstate
from shoplens._files import replace_file
from shoplens._imports import import_if_present
from shoplens.errors import InputError, ShoplensError

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

STAGES = ("prepare", "load_pretrained", "preprocess", "train", "evaluate", "deploy")
STAGE_TITLES = {
    "prepare": "prepare data", "load_pretrained": "load pretrained model", "preprocess": "preprocess",
    "train": "features and training", "evaluate": "evaluation", "deploy": "deployment",
}
# Capabilities in the order their steps run within a stage; ``shoplens.<capability>.steps`` registers a
# capability's steps once that module exists.
CAPABILITIES = ("data", "analytics", "reviews", "recommend", "forecast", "pricing", "graph", "search", "assistant")
CAPABILITY_MODULES = [f"shoplens.{name}.steps" for name in CAPABILITIES]
Profile = Literal["demo", "full"]
ENGINES = ("duckdb", "spark")
PROGRESS_FILE = "run-progress.json"  # in the workspace's reports/
FINISHED = ("ok", "failed", "skipped", "unchanged")  # statuses of a step that ran to its end
# An incremental run may reuse a model (score only the new rows) while every table its step reads grew by at most
# this fraction of the rows the model was trained on and lost none; past it, or with --full-rerun, it retrains.
REUSE_GROWTH = 0.05


@dataclass
class RunContext:
    """What steps share: the workspace, the size profile, the engine and its options (``source``, ``master`` for
    Spark), the outputs of earlier steps, and what earlier steps opened (:meth:`shared`)."""

    ws: Workspace
    profile: Profile = "full"
    outputs: dict[str, Any] = field(default_factory=dict)
    engine: str = "duckdb"
    options: dict[str, Any] = field(default_factory=dict)
    on_note: Callable[[str], None] | None = None
    full_rerun: bool = True
    # the running step's inputs now, its record from the last ok run, and its notes (set by the pipeline)
    inputs: dict[str, runstate.Input] = field(default_factory=dict)
    previous: runstate.StepState | None = None
    notes: list[str] = field(default_factory=list)
    reused: bool = False
    _shared: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def params(self) -> dict[str, Any]:
        """The run's parameters that decide a step's result beside its inputs."""
        return {"profile": self.profile, "engine": self.engine, "timezone": self.ws.config.timezone,
                "code": runstate.code_version()}

    def reusable(self, limit: float = REUSE_GROWTH) -> runstate.StepState | None:
        """The running step's record from its last ok run when it may reuse what that run built instead of
        rebuilding it: an incremental run, the same parameters and code, the same models and files, and every table
        it reads grown by at most ``limit`` of the rows its result was built on, none lost. ``None`` otherwise."""
        from shoplens.schema import TABLES

        previous = self.previous
        if self.full_rerun or previous is None or previous.params != self.params():
            return None
        for name, now in self.inputs.items():
            before = previous.inputs.get(name)
            if before is None:
                return None
            if name.startswith((runstate.MODEL_PREFIX, runstate.FILE_PREFIX)):
                if before["digest"] != now.digest:
                    return None
                continue
            if name not in TABLES:
                continue  # a table an earlier step derives from the canonical ones (market baskets …): follows them
            basis = previous.basis.get(name, before["rows"])
            if now.rows < before["rows"] or now.rows - basis > limit * max(basis, 1):
                return None
        return previous

    @property
    def reuse_limit(self) -> float:
        return REUSE_GROWTH

    def reuse(self, what: str) -> None:
        """Say that the running step reused what an earlier run built (shown in the run's table and report); the
        rows that result was built on are carried forward."""
        self.reused = True
        self.notes.append(what)

    def kept_version(self, registry_name: str, output: str) -> str | None:
        """The deployed version of ``registry_name`` when an incremental run may keep it instead of retraining
        (:meth:`reusable`) and it is the version this step's last ok run produced (``outputs[output]``); it is then
        put back in ``outputs[output]``. ``None``: train as usual."""
        from shoplens.errors import NotFound
        from shoplens.registry import ModelRegistry

        previous = self.reusable()
        if previous is None or not previous.outputs.get(output):
            return None
        try:
            deployed = ModelRegistry(self.ws).path(registry_name, "deployed").name
        except NotFound:
            return None
        if deployed != previous.outputs[output]:
            return None  # another version was deployed since (a rollback, a retrain): train as usual
        self.outputs[output] = deployed
        return deployed

    def limit(self, what: str) -> None:
        """Say what the running step's profile left out or capped (shown in the run's table and report)."""
        self.notes.append(what)

    def grown_rows(self, table: str) -> int:
        """Rows ``table`` gained since the running step's last ok run (0 without one)."""
        if self.previous is None or table not in self.inputs or table not in self.previous.inputs:
            return 0
        return self.inputs[table].rows - int(self.previous.inputs[table]["rows"])

    def shared(self, key: str, open_it: Callable[[], Any], close: Callable[[Any], None] | None = None) -> Any:
        """What ``open_it()`` gives, opened by the first step that asks and kept for the others; ``close`` is
        called with it when the run ends."""
        if key not in self._shared:
            value = self._shared[key] = open_it()
            if close is not None:
                self._closers.append(lambda: close(value))
        return self._shared[key]

    def note(self, message: str) -> None:
        """A line of progress within a step (shown under the step's name)."""
        if self.on_note is not None:
            self.on_note(message)

    def close(self) -> None:
        """Close what steps opened, last opened first."""
        while self._closers:
            self._closers.pop()()
        self._shared.clear()


@dataclass(frozen=True)
class Step:
    capability: str
    stage: str
    name: str
    func: Callable[[RunContext], dict[str, Any] | None]
    engine: str = "duckdb"
    reads: tuple[str, ...] | None = None  # None: runs every time

    @property
    def key(self) -> str:
        return f"{self.capability}.{self.stage}.{self.name}.{self.engine}"


@dataclass
class StepResult:
    capability: str
    stage: str
    name: str
    status: Literal["ok", "failed", "skipped", "unchanged"]
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what the profile capped, what was reused or kept


class NotApplicable(ShoplensError):
    """Raised by a step when the workspace lacks what its capability needs (no reviews, too little
    history …): the capability is skipped with this reason, which is not a failure of the run."""


_STEPS: list[Step] = []


def step(capability: str, stage: str, name: str, engine: str = "duckdb",
         reads: tuple[str, ...] | None = None) -> Callable[[Callable], Callable]:
    """Register a function ``f(ctx) -> summary dict`` as a step of ``stage`` for ``capability``, in the runs on
    ``engine`` (``duckdb``: ``shoplens run``; ``spark``: ``shoplens run --engine spark``). ``reads``: every table,
    model (``model:NAME``) and workspace file (``file:PATH``) its result depends on — an incremental run skips the
    step while they, the run's parameters and the code are unchanged; without it the step runs every time."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {STAGES}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; engines are {ENGINES}")

    def register(func: Callable[[RunContext], dict[str, Any] | None]) -> Callable:
        # once per (capability, stage, name, engine): a module imported twice registers nothing new, while steps of
        # different stages may share a name (recommend's train and deploy steps are both "recommender")
        if not any((s.capability, s.stage, s.name, s.engine) == (capability, stage, name, engine) for s in _STEPS):
            _STEPS.append(Step(capability, stage, name, func, engine, reads))
        return func
    return register


def registered_steps(capabilities: list[str] | None = None, engine: str = "duckdb") -> list[Step]:
    """Steps of runs on ``engine`` in stage order (within a stage, capability order, then registration order),
    optionally for some capabilities."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; engines are {', '.join(ENGINES)}")
    for module in CAPABILITY_MODULES:
        import_if_present(module)
    known = {s.capability for s in _STEPS}
    unknown = sorted(set(capabilities or []) - known)
    if unknown:
        raise InputError(f"unknown capability {', '.join(unknown)}; capabilities are: {', '.join(sorted(known))}")
    on_engine = {s.capability for s in _STEPS if s.engine == engine}
    idle = sorted(set(capabilities or []) - on_engine)
    if idle:
        raise InputError(f"{', '.join(idle)}: no step runs on the {engine} engine; capabilities with {engine} steps: "
                         f"{', '.join(c for c in CAPABILITIES if c in on_engine)}")
    chosen = [s for s in _STEPS if s.engine == engine and (capabilities is None or s.capability in capabilities)]
    # capabilities in CAPABILITIES order within a stage, whichever step module was imported first (a test or a
    # caller importing shoplens.graph.steps early must not make the graph's deployment run before the reviews')
    order = {name: i for i, name in enumerate(CAPABILITIES)}
    return sorted(chosen, key=lambda s: (STAGES.index(s.stage), order.get(s.capability, len(order))))


def run(ws: Workspace, capabilities: list[str] | None = None, profile: Profile = "full",
        on_step: Callable[[Step, StepResult | None], None] | None = None, *, engine: str = "duckdb",
        options: dict[str, Any] | None = None, on_note: Callable[[str], None] | None = None,
        full_rerun: bool = False) -> list[StepResult]:
    """Run every step registered for ``engine`` in stage order. A failed or not applicable step skips the steps
    of its capability that follow; other capabilities go on. ``on_step(step, None)`` is called before and
    ``on_step(step, result)`` after each step (for progress display), ``on_note(line)`` for progress within a
    step. ``options`` are the engine's (Spark: ``source``, a folder of canonical Parquet tables; ``master``).
    Incremental unless ``full_rerun`` (see the module's docstring)."""
    steps = registered_steps(capabilities, engine)
    ctx = RunContext(ws=ws, profile=profile, engine=engine, options=dict(options or {}), on_note=on_note,
                     full_rerun=full_rerun)
    try:
        return _run_steps(ctx, steps, on_step)
    finally:
        ctx.close()


def _run_steps(ctx: RunContext, steps: list[Step],
               on_step: Callable[[Step, StepResult | None], None] | None) -> list[StepResult]:
    stopped: dict[str, str] = {}  # capability -> why its later steps are skipped
    results = []
    progress = _Progress(ctx.ws, steps, ctx.profile, ctx.engine)
    memory = _Memory(ctx)
    for index, current in enumerate(steps):
        if on_step:
            on_step(current, None)
        progress.update(index, "running")
        if current.capability in stopped:
            result = StepResult(current.capability, current.stage, current.name, "skipped", 0.0,
                                error=stopped[current.capability])
        else:
            try:
                result = memory.run(current, ctx)
            except BaseException:  # Ctrl-C (KeyboardInterrupt), SystemExit: the run ends here
                progress.update(index, "interrupted")
                raise
            if result.status == "failed":
                stopped[current.capability] = "an earlier step of this capability failed"
            elif result.status == "skipped":
                stopped[current.capability] = result.error or "not applicable"
        progress.update(index, result.status)
        results.append(result)
        if on_step:
            on_step(current, result)
    progress.finish()
    return results


class _Memory:
    """The run's side of ``shoplens.runstate``: each step's inputs read before it runs, the step skipped when they
    are those of its last ok run, its record written after an ok run."""

    def __init__(self, ctx: RunContext) -> None:
        self.state = runstate.RunState(ctx.ws)
        self.canonical: dict[str, runstate.Input] = {}  # no step writes the canonical tables: read once per run
        self.ran: set[str] = set()  # capabilities with a step that ran in this run

    def run(self, current: Step, ctx: RunContext) -> StepResult:
        started = time.perf_counter()
        ctx.inputs, ctx.notes, ctx.reused = {}, [], False
        ctx.previous = self.state.get(current.key) if current.reads is not None else None
        if current.reads is None:
            self.ran.add(current.capability)
            return _run_step(current, ctx)
        ctx.inputs = self._inputs(ctx.ws, current.reads)
        mark = runstate.fingerprint(ctx.inputs, ctx.params())
        previous = ctx.previous
        if (not ctx.full_rerun and previous is not None and previous.fingerprint == mark
                and current.capability not in self.ran):
            ctx.outputs.update(previous.outputs)
            ctx.outputs[f"{current.capability}.{current.name}"] = previous.summary
            return StepResult(current.capability, current.stage, current.name, "unchanged",
                              round(time.perf_counter() - started, 3), previous.summary,
                              notes=[f"inputs unchanged since the run of {previous.finished_at}: its result kept"])
        self.ran.add(current.capability)
        before = set(ctx.outputs)
        result = _run_step(current, ctx)
        if result.status == "ok":
            # read again: a step may create what it reads (the assistant's default intents file on first use)
            after = self._inputs(ctx.ws, current.reads)
            rows = {name: value.rows for name, value in after.items()}
            basis = {**rows, **previous.basis} if ctx.reused and previous is not None else rows
            self.state.put(current.key, runstate.StepState(
                fingerprint=runstate.fingerprint(after, ctx.params()),
                inputs={k: {"rows": v.rows, "digest": v.digest} for k, v in after.items()},
                finished_at=runstate.now(), summary=runstate.as_json(result.summary),
                outputs=runstate.json_outputs({k: ctx.outputs[k] for k in set(ctx.outputs) - before}),
                basis=basis, params=ctx.params()))
        result.seconds = round(time.perf_counter() - started, 3)
        return result

    def _inputs(self, ws: Workspace, reads: tuple[str, ...]) -> dict[str, runstate.Input]:
        from shoplens.schema import TABLES

        found = runstate.read_inputs(ws, reads, self.canonical)
        self.canonical.update({name: value for name, value in found.items() if name in TABLES})
        return found


def _run_step(current: Step, ctx: RunContext) -> StepResult:
    started = time.perf_counter()
    try:
        summary = current.func(ctx) or {}
        ctx.outputs[f"{current.capability}.{current.name}"] = summary
        return StepResult(current.capability, current.stage, current.name, "ok",
                          round(time.perf_counter() - started, 3), summary, notes=list(ctx.notes))
    except NotApplicable as reason:
        return StepResult(current.capability, current.stage, current.name, "skipped",
                          round(time.perf_counter() - started, 3), error=str(reason))
    except ShoplensError as error:
        return StepResult(current.capability, current.stage, current.name, "failed",
                          round(time.perf_counter() - started, 3), error=str(error))
    except Exception as error:  # a bug: keep the traceback for the report, go on with other capabilities
        return StepResult(current.capability, current.stage, current.name, "failed",
                          round(time.perf_counter() - started, 3),
                          error=f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=8)}")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class _Progress:
    """The run's steps and their statuses (``not started``, ``running``, ok / failed / skipped, ``interrupted``)
    in ``reports/run-progress.json``, written after every change."""

    def __init__(self, ws: Workspace, steps: list[Step], profile: str, engine: str = "duckdb") -> None:
        self.path = ws.dir("reports") / PROGRESS_FILE
        self.state: dict[str, Any] = {
            "started_at": _now(), "finished_at": None, "profile": profile, "engine": engine, "pid": os.getpid(),
            "host": socket.gethostname(),
            "steps": [{"capability": s.capability, "stage": s.stage, "name": s.name, "status": "not started",
                       "started_at": None, "finished_at": None} for s in steps]}
        self._write()

    def update(self, index: int, status: str) -> None:
        entry = self.state["steps"][index]
        entry["status"] = status
        entry["started_at" if status == "running" else "finished_at"] = _now()
        self._write()

    def finish(self) -> None:
        self.state["finished_at"] = _now()
        self._write()

    def _write(self) -> None:
        replace_file(self.path, json.dumps(self.state, indent=1))


def last_run(ws: Workspace) -> dict[str, Any] | None:
    """The last run's progress (``None`` when no run is recorded): ``finished``; ``state`` (finished,
    interrupted — it stopped on Ctrl-C —, running — its process is alive — or stopped — its process is gone,
    e.g. killed); ``started_at``, ``finished_at``, ``profile``; ``steps_planned`` and ``steps_done``; the
    ``missing_steps`` (capability, stage, name, status) and the titles of their ``missing_stages``."""
    path = ws.dir("reports") / PROGRESS_FILE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", file=str(path)) from None
    steps = state.get("steps", [])
    missing = [s for s in steps if s["status"] not in FINISHED]
    finished = state.get("finished_at") is not None
    return {"finished": finished, "state": "finished" if finished else _why_unfinished(state, missing),
            "started_at": state.get("started_at"), "finished_at": state.get("finished_at"),
            "profile": state.get("profile"), "steps_planned": len(steps), "steps_done": len(steps) - len(missing),
            "missing_steps": missing,
            "missing_stages": [STAGE_TITLES[stage] for stage in STAGES if any(s["stage"] == stage for s in missing)]}


def _why_unfinished(state: dict[str, Any], missing: list[dict[str, Any]]) -> str:
    if any(s["status"] == "interrupted" for s in missing):
        return "interrupted"
    return "running" if state.get("host") == socket.gethostname() and _alive(state.get("pid")) else "stopped"


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def unfinished_line(run: dict[str, Any]) -> str:
    """One sentence on a run that did not finish, for the command line."""
    return f"the last run did not finish ({unfinished_details(run)}); missing: {', '.join(run['missing_stages'])}"


def unfinished_details(run: dict[str, Any]) -> str:
    """How a run that did not finish ended, when it started and how far it got."""
    started = (run.get("started_at") or "?")[:16].replace("T", " ")
    how = {"interrupted": "it was interrupted", "running": "it is still running",
           "stopped": "its process ended before the run did"}[run["state"]]
    return f"{how}; started {started} UTC, {run['steps_done']} of {run['steps_planned']} steps done"
