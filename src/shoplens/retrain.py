"""Scheduled retraining with champion and challenger: deploy a new model only when it is measurably better.

``retrain(ws)`` does, for each capability that can retrain (a *contender* registered in
``shoplens/<capability>/retrain.py`` with :func:`contender`):

1. drift: the new data against the deployed model's training data (:mod:`shoplens.drift`); with ``if_drift``,
   nothing more unless a feature raised the alarm;
2. the window: the most recent ``window_days`` of the capability's data, and the cut-off just before it;
3. the challenger: the champion's recipe (the parameters on its card; the profile's when none is deployed)
   trained on the current data up to the cut-off (it never sees the window);
4. the champion: the deployed model, scored as it is when its training ended before the window; when its
   training saw the window, its recipe (the parameters on its card) is trained again up to the same cut-off;
5. both scored on the window with the same metric; the challenger is deployed only when it wins by
   ``min_gain`` (a relative improvement) — then retrained on all the data, registered, published and deployed;
6. the decision (both scores, the window, the reason, the drift alarms) is recorded in the registry
   (``models/<name>/decisions.jsonl``).

A deploy is crash-safe: the new version's folder is complete before anything points at it; an intent file
(``models/<name>/DEPLOYING``) is written, the capability publishes what the service reads in one warehouse
transaction, the ``DEPLOYED`` pointer is renamed into place and the intent removed. :func:`recover` (run by the
service at start and by every retrain) finishes a deploy whose transaction committed and forgets one whose
transaction did not — so after a ``kill -9`` at any point one complete version serves.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from shoplens._files import replace_file
from shoplens._imports import import_if_present
from shoplens.drift import Thresholds, check_drift
from shoplens.errors import InputError

if TYPE_CHECKING:
    from shoplens.workspace import Workspace

CAPABILITIES = ("reviews", "recommend", "forecast", "pricing")  # where a ``retrain`` module may register one
INTENT_FILE = "DEPLOYING"
DEFAULT_MIN_GAIN = 0.02
DEFAULT_WINDOW_DAYS = 28


@dataclass(frozen=True)
class Window:
    """The evaluation window: days ``start`` to ``end`` (inclusive); training data end on ``cutoff``."""

    start: dt.date
    end: dt.date

    @property
    def cutoff(self) -> dt.date:
        return self.start - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
                "training_cutoff": self.cutoff.isoformat()}


@dataclass
class Score:
    """A model's score on the window, and how it was obtained."""

    value: float
    version: str | None = None
    refit: bool = False  # the champion's recipe trained again up to the cut-off (its training saw the window)
    note: str = ""


class Contender(Protocol):
    """What a capability implements to take part in retraining."""

    model_name: str  # the registry name of the model it retrains
    metric: str  # the name of the window metric
    higher_is_better: bool

    def window(self, ws: Workspace, days: int) -> Window: ...

    def challenger(self, ws: Workspace, window: Window, profile: str) -> Any: ...

    def score(self, ws: Workspace, model: Any, window: Window) -> Score: ...

    def champion(self, ws: Workspace, version: str, window: Window) -> Any: ...

    def train_final(self, ws: Workspace, profile: str) -> str: ...

    def publish(self, ws: Workspace, version: str) -> None: ...

    def published_version(self, ws: Workspace) -> str | None: ...


_CONTENDERS: dict[str, Callable[[], Contender]] = {}


def contender(capability: str) -> Callable[[Callable[[], Contender]], Callable[[], Contender]]:
    """Register a factory of the capability's :class:`Contender` (in ``shoplens/<capability>/retrain.py``)."""
    def register(factory: Callable[[], Contender]) -> Callable[[], Contender]:
        _CONTENDERS[capability] = factory
        return factory
    return register


def contenders(capability: str | None = None) -> dict[str, Contender]:
    """The registered contenders, or the one of ``capability`` (a clear error when it has none)."""
    for name in CAPABILITIES:
        import_if_present(f"shoplens.{name}.retrain")
    if capability is not None and capability not in _CONTENDERS:
        raise InputError(f"capability {capability!r} cannot retrain; capabilities that can: "
                         f"{', '.join(sorted(_CONTENDERS)) or 'none'}")
    chosen = [capability] if capability else sorted(_CONTENDERS)
    return {name: _CONTENDERS[name]() for name in chosen}


@dataclass
class Decision:
    """One retraining decision, as recorded in the registry."""

    capability: str
    model: str
    deployed: bool
    reason: str
    metric: str = ""
    higher_is_better: bool = False
    window: dict[str, Any] = field(default_factory=dict)
    champion: dict[str, Any] | None = None  # version, score, refit, note
    challenger: dict[str, Any] | None = None
    gain: float | None = None
    min_gain: float = DEFAULT_MIN_GAIN
    deployed_version: str | None = None
    drift_alarms: list[str] = field(default_factory=list)
    drift_check: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def retrain(ws: Workspace, capability: str | None = None, *, if_drift: bool = False,
            min_gain: float = DEFAULT_MIN_GAIN, window_days: int = DEFAULT_WINDOW_DAYS, profile: str = "full",
            thresholds: Thresholds | None = None, on_note: Callable[[str], None] | None = None) -> list[Decision]:
    """Champion against challenger for each capability that can retrain (or one); the decisions, recorded."""
    if min_gain < 0:
        raise InputError(f"min_gain={min_gain}: a gain is a fraction ≥ 0 (0.02 = 2 % better)")
    if window_days < 1:
        raise InputError(f"window_days={window_days}: the window is at least one day")
    if profile not in ("demo", "full"):
        raise InputError(f"profile {profile!r}: demo or full")
    note = on_note or (lambda _: None)
    recover(ws)
    decisions = []
    for name, plan in contenders(capability).items():
        started = time.perf_counter()
        decision = _decide(ws, name, plan, if_drift, min_gain, window_days, profile, thresholds, note)
        decision.seconds = round(time.perf_counter() - started, 2)
        ws.models.record_decision(plan.model_name, decision.to_dict())
        decisions.append(decision)
    return decisions


def _decide(ws: Workspace, name: str, plan: Contender, if_drift: bool, min_gain: float, window_days: int,
            profile: str, thresholds: Thresholds | None, note: Callable[[str], None]) -> Decision:
    decision = Decision(name, plan.model_name, False, "", plan.metric, plan.higher_is_better, min_gain=min_gain)
    deployed = ws.models.deployed().get(plan.model_name)
    if deployed is not None:
        drift = check_drift(ws, model=plan.model_name, trigger="retrain", thresholds=thresholds)
        if drift is not None:
            decision.drift_alarms, decision.drift_check = drift.alarms, drift.check_id if drift.features else None
            note(drift.line())
            if if_drift and not drift.drifted:
                decision.reason = "no drift alarm: not retrained (--if-drift)"
                return decision
    window = plan.window(ws, window_days)
    decision.window = window.to_dict()
    note(f"{name}: challenger trained up to {window.cutoff}, both scored on {window.start} … {window.end}")
    challenger = plan.challenger(ws, window, profile)
    challenger_score = plan.score(ws, challenger, window)
    decision.challenger, decision.metric = asdict(challenger_score), plan.metric
    if deployed is None:
        decision.reason = "no champion deployed: the challenger's recipe is deployed"
    else:
        champion_score = plan.score(ws, plan.champion(ws, deployed.version, window), window)
        champion_score.version = deployed.version
        decision.champion = asdict(champion_score)
        decision.gain = _gain(champion_score.value, challenger_score.value, plan.higher_is_better)
        if decision.gain < min_gain:
            decision.reason = (f"no gain: the challenger's {plan.metric} {challenger_score.value:.4f} is not "
                               f"{min_gain:.0%} better than the champion's {champion_score.value:.4f}")
            return decision
        decision.reason = (f"the challenger's {plan.metric} {challenger_score.value:.4f} beats the champion's "
                           f"{champion_score.value:.4f} by {decision.gain:.1%} (≥ {min_gain:.0%})")
    note(f"{name}: deploying — the challenger's recipe trained on all the data")
    version = plan.train_final(ws, profile)
    deploy_published(ws, plan, version)
    decision.deployed, decision.deployed_version = True, version
    return decision


def _gain(champion: float, challenger: float, higher_is_better: bool) -> float:
    """The challenger's relative improvement over the champion (0.05 = 5 % better; negative = worse)."""
    if champion == challenger:
        return 0.0
    better = challenger - champion if higher_is_better else champion - challenger
    return better / max(abs(champion), 1e-12)


# -- crash-safe deploys -------------------------------------------------------------------------------------
def deploy_published(ws: Workspace, plan: Contender, version: str) -> None:
    """Publish ``version`` (the capability's warehouse tables, one transaction) and point ``DEPLOYED`` at it,
    with an intent file between the two so that :func:`recover` can finish or forget a deploy cut short."""
    intent = ws.models.root / plan.model_name / INTENT_FILE
    replace_file(intent, json.dumps({"version": version, "since": dt.datetime.now(dt.UTC).isoformat()}))
    plan.publish(ws, version)
    ws.models.deploy(plan.model_name, version, by="shoplens retrain",
                     reason="champion/challenger: see decisions.jsonl")
    intent.unlink(missing_ok=True)


def recover(ws: Workspace) -> list[str]:
    """Finish or forget deploys cut short (a killed process); one line per deploy recovered."""
    found = sorted(ws.models.root.glob(f"*/{INTENT_FILE}"))
    if not found:
        return []
    by_model = {plan.model_name: plan for plan in contenders().values()}
    lines = []
    for intent in found:
        name = intent.parent.name
        try:
            version = json.loads(intent.read_text(encoding="utf-8"))["version"]
        except (ValueError, KeyError):
            version = None  # the intent itself was cut short: nothing was published yet
        plan = by_model.get(name)
        if version and plan is not None and plan.published_version(ws) == version:
            ws.models.deploy(name, version, by="shoplens retrain (deploy recovered)")
            lines.append(f"{name}: the deploy of {version} had been published; finished it")
        else:
            lines.append(f"{name}: the deploy of {version} had not been published; the previous version serves")
        intent.unlink(missing_ok=True)
    return lines


# -- schedules (shoplens serve --retrain "daily 03:00") ----------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """When the service retrains: every day at a time of the shop's timezone, or every so many seconds."""

    text: str
    at: dt.time | None = None  # daily at this local time
    every_s: float | None = None  # or at this interval

    def next_after(self, now: dt.datetime, timezone: str = "UTC") -> dt.datetime:
        """The first run strictly after ``now`` (an aware datetime), as an aware datetime."""
        if self.every_s is not None:
            return now + dt.timedelta(seconds=self.every_s)
        from zoneinfo import ZoneInfo

        local = now.astimezone(ZoneInfo(timezone))
        candidate = local.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)  # type: ignore[union-attr]
        if candidate <= local:
            candidate = (candidate + dt.timedelta(days=1)).replace(hour=self.at.hour, minute=self.at.minute)  # type: ignore[union-attr]
        return candidate


UNITS_S = {"s": 1, "m": 60, "h": 3600}


def parse_schedule(text: str) -> Schedule:
    """``daily HH:MM`` (the shop's timezone), ``hourly``, or ``every N{s,m,h}`` (``every 30m``)."""
    words = text.strip().lower().split()
    try:
        if len(words) == 2 and words[0] == "daily":
            hour, minute = (int(part) for part in words[1].split(":"))
            return Schedule(text, at=dt.time(hour, minute))
        if words == ["hourly"]:
            return Schedule(text, every_s=3600)
        if len(words) == 2 and words[0] == "every" and words[1][-1] in UNITS_S and float(words[1][:-1]) > 0:
            return Schedule(text, every_s=float(words[1][:-1]) * UNITS_S[words[1][-1]])
    except ValueError:
        pass
    raise InputError(f"schedule {text!r}: use 'daily HH:MM' (the shop's timezone), 'hourly' or 'every N' with "
                     "s, m or h (every 30m)")
