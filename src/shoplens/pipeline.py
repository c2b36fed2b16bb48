"""``shoplens run``: the seed's six steps as named stages, filled by the capabilities.

Stages, in order: prepare data → load pretrained model → preprocess → features and training →
evaluation → deployment. Each capability registers its steps in its own ``steps.py`` with
:func:`step`; a stage with no step registered is shown as such, never faked.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

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


@dataclass
class RunContext:
    """What steps share: the workspace, the size profile and the outputs of earlier steps."""

    ws: Workspace
    profile: Profile = "full"
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    capability: str
    stage: str
    name: str
    func: Callable[[RunContext], dict[str, Any] | None]


@dataclass
class StepResult:
    capability: str
    stage: str
    name: str
    status: Literal["ok", "failed", "skipped"]
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class NotApplicable(ShoplensError):
    """Raised by a step when the workspace lacks what its capability needs (no reviews, too little
    history …): the capability is skipped with this reason, which is not a failure of the run."""


_STEPS: list[Step] = []


def step(capability: str, stage: str, name: str) -> Callable[[Callable], Callable]:
    """Register a function ``f(ctx) -> summary dict`` as a step of ``stage`` for ``capability``."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {STAGES}")

    def register(func: Callable[[RunContext], dict[str, Any] | None]) -> Callable:
        if not any(s.capability == capability and s.name == name for s in _STEPS):
            _STEPS.append(Step(capability, stage, name, func))
        return func
    return register


def registered_steps(capabilities: list[str] | None = None) -> list[Step]:
    """Steps in stage order (registration order within a stage), optionally for some capabilities."""
    for module in CAPABILITY_MODULES:
        import_if_present(module)
    known = {s.capability for s in _STEPS}
    unknown = sorted(set(capabilities or []) - known)
    if unknown:
        raise InputError(f"unknown capability {', '.join(unknown)}; capabilities are: {', '.join(sorted(known))}")
    chosen = [s for s in _STEPS if capabilities is None or s.capability in capabilities]
    return sorted(chosen, key=lambda s: STAGES.index(s.stage))


def run(ws: Workspace, capabilities: list[str] | None = None, profile: Profile = "full",
        on_step: Callable[[Step, StepResult | None], None] | None = None) -> list[StepResult]:
    """Run every registered step in stage order. A failed or not applicable step skips the steps of its
    capability that follow; other capabilities go on. ``on_step(step, None)`` is called before and
    ``on_step(step, result)`` after each step (for progress display)."""
    ctx = RunContext(ws=ws, profile=profile)
    stopped: dict[str, str] = {}  # capability -> why its later steps are skipped
    results = []
    for current in registered_steps(capabilities):
        if on_step:
            on_step(current, None)
        if current.capability in stopped:
            result = StepResult(current.capability, current.stage, current.name, "skipped", 0.0,
                                error=stopped[current.capability])
        else:
            result = _run_step(current, ctx)
            if result.status == "failed":
                stopped[current.capability] = "an earlier step of this capability failed"
            elif result.status == "skipped":
                stopped[current.capability] = result.error or "not applicable"
        results.append(result)
        if on_step:
            on_step(current, result)
    return results


def _run_step(current: Step, ctx: RunContext) -> StepResult:
    started = time.perf_counter()
    try:
        summary = current.func(ctx) or {}
        ctx.outputs[f"{current.capability}.{current.name}"] = summary
        return StepResult(current.capability, current.stage, current.name, "ok",
                          round(time.perf_counter() - started, 3), summary)
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
