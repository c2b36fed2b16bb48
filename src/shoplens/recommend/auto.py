"""Model selection as a recommender: :class:`AutoRecommender` fits every candidate on the training part of the
data, scores it on a validation part, keeps the best one (or a blend of the best two when the blend scores
higher on validation), refits it on everything, and says in its card what each candidate scored.

```python
from shoplens.recommend import AutoRecommender
model = AutoRecommender(time_budget=300).fit(ws)     # the workspace's interactions and products
model.chosen_                                        # "session_ease", or "blend(ease+sasrec)"
model.selection_                                     # every candidate: parameters, validation score, seconds
model.recommend("C000042", k=5)                      # then like any recommender
```

The validation part is the one the data call for (``split="auto"``): with timestamps, each customer's last
interaction (leave-one-out, what a shop wants next); without, a random quarter of each customer's
interactions (per-user stratified 75/25). ``split="sessions"`` holds out the latest fifth of the sessions
(customers are sessions) and predicts each of their views from the views before it. Candidates with a grid are
tuned on the same validation part: a walk over the grid from its middle (one parameter at a time, towards the
better neighbour while it improves) or, with ``"search": "grid"``, every setting.

The choice is the highest validation score, never a lower one; a tie keeps the earlier candidate (the
defaults are listed cheapest first). A model that stops early on the validation part (SASRec) is kept as
fitted, with the validation part added to its histories: refitting it without a validation part would lose
what chose its epochs. Every other chosen model is refitted on training + validation.
"""

from __future__ import annotations

import inspect
import time
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shoplens.errors import InputError, ShoplensError
from shoplens.recommend.base import Recommender
from shoplens.recommend.data import ITEM, TS, USER, products_frame, time_number
from shoplens.recommend.evaluate import evaluate_histories, evaluate_model
from shoplens.recommend.persist import MODELS, register
from shoplens.recommend.splits import leave_one_out, stratified_split

SPLITS = ("auto", "leave_one_out", "stratified", "sessions")
SPEC_KEYS = {"model", "name", "params", "grid", "search"}
LAMBDAS = [25, 50, 100, 200, 400, 800, 1600]
MIN_SEQUENCE = 5       # median interactions per customer from which SASRec is a default candidate
STRATIFIED_RATIO = 0.75
SESSION_SHARE = 0.2    # the latest fifth of the sessions validate
MIN_TRAINING_SECONDS = 30.0  # a model whose training the budget bounds (SASRec) starts only with this much left


class Holdout(NamedTuple):
    """The training part and the validation part: held-out rows of known customers, or whole sessions
    (``histories`` → ``targets``) with their rows."""

    train: pd.DataFrame
    rows: pd.DataFrame
    histories: list[list[str]] | None = None
    targets: list[str] | None = None


class Trial(NamedTuple):
    params: dict[str, Any]
    score: float
    model: Recommender


# -- candidates -----------------------------------------------------------------------------------------------
def candidate_specs(candidates: Any) -> list[dict[str, Any]]:
    """Candidates as specs ``{"model", "name", "params", "grid", "search"}``; a bare name is a spec with defaults."""
    if isinstance(candidates, (str, dict)) or not candidates:
        raise InputError("candidates: give a list of model names or specs, e.g. ['ease', {'model': 'itemknn', "
                         "'grid': {'neighbors': [50, 100]}}]")
    specs = [_spec(entry) for entry in candidates]
    names = [s["name"] for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"candidates: the name {repeated[0]!r} is given twice; give one a 'name'")
    return specs


def _spec(entry: Any) -> dict[str, Any]:
    spec = {"model": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, dict) else None
    if spec is None:
        raise InputError(f"candidates: {entry!r} is neither a model name nor a spec (a mapping)")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise InputError(f"candidate {entry!r}: unknown key {unknown[0]!r}; keys are {', '.join(sorted(SPEC_KEYS))}")
    model = spec.get("model")
    if model not in MODELS or model == AutoRecommender.name:
        known = ", ".join(sorted(n for n in MODELS if n != AutoRecommender.name))
        raise InputError(f"candidate {entry!r}: unknown model {model!r}; models are {known}")
    out = {"model": model, "name": str(spec.get("name", model)), "params": dict(spec.get("params") or {}),
           "grid": {k: list(v) for k, v in dict(spec.get("grid") or {}).items()},
           "search": spec.get("search", "walk")}
    allowed = set(MODELS[model]._param_names())
    for key in [*out["params"], *out["grid"]]:
        if key not in allowed:
            raise InputError(f"candidate {out['name']!r}: {model} has no parameter {key!r}; "
                             f"parameters are {', '.join(sorted(allowed))}")
    if any(not values for values in out["grid"].values()):
        raise InputError(f"candidate {out['name']!r}: every grid parameter needs at least one value")
    if out["search"] not in ("walk", "grid"):
        raise InputError(f"candidate {out['name']!r}: search is 'walk' or 'grid', not {out['search']!r}")
    return out


def default_candidates(frame: pd.DataFrame, products: pd.DataFrame | None,
                       split: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The default candidates for these data, and the defaults left out with the reason (for the card)."""
    specs = [s for s in closed_form_candidates() if s["model"] != "session_ease"]
    left_out = []
    if has_timestamps(frame):
        specs.append(closed_form_candidates()[-1])
    else:
        left_out.append(("session_ease", "the interactions have no timestamps"))
    if has_text(products):
        specs.append({"model": "text_hybrid"})
    else:
        left_out.append(("text_hybrid", "no product texts (title, description, brand, category)"))
    median = float(frame.groupby(USER).size().median())
    sequences = split in ("leave_one_out", "held_out")  # held_out: validation rows the caller gave
    if sequences and median >= MIN_SEQUENCE:
        specs.append({"model": "sasrec", "params": {"learning_rate": 2e-3, "patience": 8}})
        # issue 18: with the items' attributes, 1.042 × plain SASRec's NDCG@10 on Beauty (3 seeds, docs/recommend.md);
        # a candidate like any other, kept only where it wins on validation
        if has_attributes(products):
            specs.append({"model": "sasrec", "name": "sasrec_attributes",
                          "params": {"learning_rate": 2e-3, "patience": 8, "side": "attributes"}})
        else:
            left_out.append(("sasrec_attributes", "no product attributes (brand, category or attribute facts "
                                                  "shared by two or more products)"))
    else:
        why = (f"sequences too short (median {median:g} interactions per customer, needs {MIN_SEQUENCE})"
               if sequences else f"the validation split is {split}, not a sequence (leave-one-out)")
        left_out += [("sasrec", why), ("sasrec_attributes", why)]
    return candidate_specs(specs), [{"candidate": n, "status": f"not a candidate: {why}"} for n, why in left_out]


def closed_form_candidates() -> list[dict[str, Any]]:
    """The default candidates that fit in closed form (seconds on a small shop): popularity, ItemKNN, EASE and
    SessionEASE with their grids — what the demo profile tries."""
    return [{"model": "popularity"},
            {"model": "itemknn", "grid": {"neighbors": [50, 100, 200], "shrink": [0.0, 10.0, 50.0]}},
            {"model": "ease", "grid": {"lam": LAMBDAS}},
            {"model": "session_ease", "grid": {"lam": LAMBDAS}}]


def has_attributes(products: pd.DataFrame | None) -> bool:
    """Whether the catalogue has attribute tokens ``SASRec(side="attributes")`` can read (brand, category levels,
    attribute facts; each on two or more products)."""
    from shoplens.recommend.side import attribute_tokens

    if products is None or products.empty or ITEM not in products.columns:
        return False
    return len(attribute_tokens(products, np.unique(products[ITEM].astype(str).to_numpy())).names) > 0


def has_timestamps(frame: pd.DataFrame) -> bool:
    """Whether the interactions are ordered in time (every row has a time, and not all the same)."""
    if TS not in frame.columns:
        return False
    seconds = time_number(frame[TS])
    return bool(len(seconds)) and bool(np.isfinite(seconds).all()) and float(np.ptp(seconds)) > 0


def has_text(products: pd.DataFrame | None) -> bool:
    if products is None or products.empty:
        return False
    columns = [c for c in ("title", "description", "brand", "category") if c in products.columns]
    return any(products[c].fillna("").astype(str).str.strip().ne("").any() for c in columns)


# -- validation parts -----------------------------------------------------------------------------------------
def holdout(frame: pd.DataFrame, split: str, seed: int) -> Holdout:
    """The training and validation parts of ``frame`` for a (resolved) split."""
    if split == "leave_one_out":
        pieces = leave_one_out(frame, validation=False)
        return Holdout(pieces.train, pieces.test)
    if split == "stratified":
        pieces = stratified_split(frame, STRATIFIED_RATIO, seed)
        return Holdout(pieces.train, pieces.test)
    return session_holdout(frame)


def session_holdout(frame: pd.DataFrame, share: float = SESSION_SHARE) -> Holdout:
    """The latest ``share`` of the sessions (by start) held out whole; every view after a session's first is
    predicted from the views before it. Every next view, not only the last: a few hundred last views give
    scores whose noise exceeds the differences between good candidates, and each prefix is a session's state
    as a recommender meets it."""
    if not has_timestamps(frame):
        raise InputError("split 'sessions' needs timestamps: the latest sessions validate")
    seconds = pd.Series(time_number(frame[TS]), index=frame.index)
    starts = seconds.groupby(frame[USER]).transform("min")
    cut = float(np.quantile(starts.groupby(frame[USER]).first(), 1 - share))
    late = (starts >= cut).to_numpy()
    ordered = frame[late].assign(_t=seconds[late]).sort_values([USER, "_t"], kind="stable")
    sessions = [g[ITEM].astype(str).tolist() for _, g in ordered.groupby(USER, sort=True)]
    sessions = [s for s in sessions if len(s) >= 2]
    histories = [s[:end] for s in sessions for end in range(1, len(s))]
    return Holdout(frame[~late], frame[late], histories, [s[end] for s in sessions for end in range(1, len(s))])


def resolve_split(split: str, frame: pd.DataFrame) -> str:
    """The validation split ``"auto"`` stands for on this data (the name is checked by ``_check_params``)."""
    if split != "auto":
        return split
    return "leave_one_out" if has_timestamps(frame) else "stratified"


# -- the recommender ------------------------------------------------------------------------------------------
@register
class AutoRecommender(Recommender):
    """The candidate that scores best on validation (see the module docstring), as one recommender.

    ``candidates``: model names or specs ``{"model": "ease", "grid": {"lam": [100, 300]}, "params": {...},
    "name": "...", "search": "walk" | "grid"}`` (default: chosen from the data, :func:`default_candidates`);
    ``metric``: what validation maximises (``ndcg@10``, ``hr@10``, ``recall@20`` …); ``time_budget``: seconds for
    the selection (candidates not started when it is spent are skipped, SASRec's training is bounded by what is
    left; the first candidate always runs, and the final refit comes on top); ``split``: ``auto``,
    ``leave_one_out``, ``stratified`` or ``sessions``; ``blend``: try a validation-weighted blend of the best
    two; ``keep_candidates``: keep every fitted candidate (``candidate_models()``), with the validation part in
    its histories, e.g. to score each on a test split too.

    Fitted: ``chosen_`` (a candidate's name or ``blend(a+b)``), ``selection_`` (one row per candidate: model,
    parameters, validation score, trials, seconds, status), ``validation_`` (the split and its size),
    ``parts_`` (the fitted model or the two blended) and ``weights_``.
    """

    name = "auto"
    reads_workspace = True  # given the workspace, text candidates cache their embeddings in it

    def __init__(self, candidates: tuple[Any, ...] | None = None, metric: str = "ndcg@10",
                 time_budget: float | None = 600.0, split: str = "auto", blend: bool = True, seed: int = 42,
                 keep_candidates: bool = False) -> None:
        self.candidates = candidates
        self.metric = metric
        self.time_budget = time_budget
        self.split = split
        self.blend = blend
        self.seed = seed
        self.keep_candidates = keep_candidates

    # -- fitting ------------------------------------------------------------------------------------------------
    def fit(self, data: Any, products: Any = None, validation: pd.DataFrame | None = None) -> AutoRecommender:
        """Choose on validation and fit the choice on everything. ``validation`` (held-out interactions of the
        customers in ``data``) replaces the validation part the split would carve; the choice is then refitted
        on ``data`` and ``validation`` together."""
        from shoplens.recommend.data import interactions_frame

        self._check_params()
        self._source = products if products is not None else (data if hasattr(data, "sql") else None)
        self._catalog = products_frame(self._source)
        self._given = None
        if validation is not None:
            train = interactions_frame(data)
            self._given = Holdout(train, interactions_frame(validation))
            data = pd.concat([train, self._given.rows], ignore_index=True)
        try:
            return super().fit(data, self._catalog)
        finally:
            self._source = self._catalog = self._given = None

    def _check_params(self) -> None:
        k = self.metric.partition("@")[2]
        if not k.isdigit() or int(k) < 1:
            raise InputError(f"metric {self.metric!r}: name@k, e.g. ndcg@10 or recall@20")
        if self.time_budget is not None and self.time_budget <= 0:
            raise InputError(f"time_budget {self.time_budget}: give seconds > 0, or None for no limit")
        if self.split not in SPLITS:
            raise InputError(f"split {self.split!r}: use one of {', '.join(SPLITS)}")
        if self.candidates is not None:
            candidate_specs(self.candidates)

    def _fit(self, frame: pd.DataFrame) -> None:
        started = time.perf_counter()
        frame = frame.drop(columns=["u", "i"])
        split = "held_out" if self._given is not None else resolve_split(self.split, frame)
        part = self._given if self._given is not None else holdout(frame, split, self.seed)
        if part.rows.empty or (part.histories is not None and not part.histories):
            raise InputError(f"too little data to choose a model on validation ({split} split): no customer has "
                             "enough interactions to hold one out")
        if self.candidates is None:
            specs, rows = default_candidates(frame, self._catalog, split)
        else:
            specs, rows = candidate_specs(self.candidates), []
        fitted = self._try_all(specs, part, started, rows)
        self.validation_ = {"split": split, "rows": len(part.rows), "metric": self.metric,
                            "customers": int(part.rows[USER].nunique()),
                            "targets": len(part.rows) if part.histories is None else len(part.histories)}
        chosen = self._choose(fitted, part)
        self._finish(fitted, chosen, part, frame)
        self.selection_ = [*(self._row(f, chosen) for f in fitted.values()), *rows]
        self.selection_seconds_ = round(time.perf_counter() - started, 3)

    def _try_all(self, specs: list[dict[str, Any]], part: Holdout, started: float,
                 rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        fitted: dict[str, dict[str, Any]] = {}
        for spec in specs:
            needs = MIN_TRAINING_SECONDS if _bounded(spec) else 0.0
            if fitted and self._left(started) <= needs:
                why = "time budget spent" if not needs else f"less than {needs:g} s of the time budget left"
                rows.append({"candidate": spec["name"], "model": spec["model"], "status": f"skipped: {why}"})
                continue
            begun = time.perf_counter()
            try:
                best, trials = self._search(spec, part, started)
            except (InputError, ShoplensError) as failure:
                rows.append({"candidate": spec["name"], "model": spec["model"], "status": f"failed: {failure}"})
                continue
            fitted[spec["name"]] = {"spec": spec, "best": best, "trials": trials,
                                    "seconds": time.perf_counter() - begun}
        if not fitted:
            raise InputError("no candidate could be fitted: " + "; ".join(f"{r['candidate']}: {r['status']}"
                                                                         for r in rows if "model" in r))
        return fitted

    def _left(self, started: float) -> float:
        return np.inf if self.time_budget is None else self.time_budget - (time.perf_counter() - started)

    def _search(self, spec: dict[str, Any], part: Holdout, started: float) -> tuple[Trial, int]:
        """Fit and score the candidate at the settings its search visits (all of them, or a walk): the best
        trial (the first of equals) with its fitted model, and how many settings were tried. Only the best
        model so far is kept (EASE on 12,000 items weighs a gigabyte)."""
        names = list(spec["grid"])
        scores: dict[tuple[int, ...], float] = {}
        best: list[Trial] = []

        def visit(position: tuple[int, ...]) -> float:
            if position not in scores:
                params = {n: spec["grid"][n][p] for n, p in zip(names, position, strict=True)}
                trial = self._trial(spec, params, part, started)
                scores[position] = trial.score
                if not best or trial.score > best[0].score:
                    best[:] = [trial]
            return scores[position]

        if spec["search"] == "grid":
            for position in np.ndindex(*(len(spec["grid"][n]) for n in names)):
                if scores and self._left(started) <= 0:
                    break
                visit(tuple(position))
        else:
            _walk(visit, [len(spec["grid"][n]) for n in names], lambda: self._left(started) > 0)
        return best[0], len(scores)

    def _trial(self, spec: dict[str, Any], params: dict[str, Any], part: Holdout, started: float) -> Trial:
        model = MODELS[spec["model"]](**{**spec["params"], **params})
        if _bounded(spec) and self.time_budget is not None:
            model.set_params(max_seconds=max(self._left(started), 1.0))  # a bounded training, not a skipped one
        if self._stops_early(model, part):
            model.fit(part.train, self._catalog_for(model), validation=part.rows, extend=False)
        else:
            model.fit(part.train, self._catalog_for(model))
        return Trial(params, self._score(model, part), model)

    def _catalog_for(self, model: Recommender) -> Any:
        """The products frame (read once), or the workspace for models that read more of it (the knowledge
        graph) or cache text embeddings in it."""
        return self._source if type(model).reads_workspace and hasattr(self._source, "sql") else self._catalog

    @staticmethod
    def _stops_early(model: Recommender, part: Holdout) -> bool:
        """Whether the model stops early on held-out rows of known customers (SASRec's ``fit(validation=)``)."""
        return part.histories is None and "validation" in inspect.signature(type(model).fit).parameters

    def _score(self, model: Recommender, part: Holdout) -> float:
        k = int(self.metric.partition("@")[2])
        if part.histories is not None:
            metrics = evaluate_histories(model, part.histories, part.targets or [], ks=(k,))
        else:
            metrics = evaluate_model(model, part.rows, ks=(k,))
        if self.metric not in metrics:
            raise InputError(f"metric {self.metric!r} is not measured; metrics are {', '.join(sorted(metrics))}")
        return float(metrics[self.metric])

    # -- the choice ---------------------------------------------------------------------------------------------
    def _choose(self, fitted: dict[str, dict[str, Any]], part: Holdout) -> list[str]:
        """The names of the chosen candidates: the best one, or the best two when their blend scores higher."""
        ranked = sorted(fitted, key=lambda n: -fitted[n]["best"].score)  # stable: the earlier of equals first
        chosen = ranked[:1]
        self.blend_ = None
        if self.blend and len(ranked) >= 2 and fitted[ranked[1]]["best"].score > 0:
            models = [fitted[n]["best"].model for n in ranked[:2]]
            weights = np.array([fitted[n]["best"].score for n in ranked[:2]], dtype=np.float64)
            weights /= weights.sum()
            trial = AutoRecommender._assembled(self.get_params(), models, weights)
            score = self._score(trial, part)
            self.blend_ = {"candidate": f"blend({ranked[0]}+{ranked[1]})", "weights": weights.round(4).tolist(),
                           self.metric: round(score, 6)}
            if score > fitted[ranked[0]]["best"].score:
                chosen = ranked[:2]
                self.weights_ = weights.astype(np.float32)
        if len(chosen) == 1:
            self.weights_ = np.ones(1, dtype=np.float32)
        self.chosen_ = chosen[0] if len(chosen) == 1 else f"blend({chosen[0]}+{chosen[1]})"
        if self.blend_ is not None:
            self.blend_["status"] = "chosen" if len(chosen) == 2 else "not chosen: lower than the best candidate"
        return chosen

    def _finish(self, fitted: dict[str, dict[str, Any]], chosen: list[str], part: Holdout,
                frame: pd.DataFrame) -> None:
        """The chosen models fitted on everything; the candidates kept when asked."""
        if part.histories is None:  # fitted candidates that stay get the validation part as history
            for name, entry in fitted.items():
                if self.keep_candidates or (name in chosen and self._stops_early(entry["best"].model, part)):
                    entry["best"].model.extend_history(part.rows)
        parts = []
        for name in chosen:
            entry = fitted[name]
            model = entry["best"].model
            if not self._stops_early(model, part):
                spec = entry["spec"]
                model = MODELS[spec["model"]](**{**spec["params"], **entry["best"].params})
                model = model.fit(frame, self._catalog_for(model))
            parts.append(model)
        self.parts_ = parts
        self._candidates = {n: e["best"].model for n, e in fitted.items()} if self.keep_candidates else {}
        self._maps: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def _row(self, entry: dict[str, Any], chosen: list[str]) -> dict[str, Any]:
        spec, best = entry["spec"], entry["best"]
        name = spec["name"]
        status = "not chosen" if name not in chosen else "chosen" if len(chosen) == 1 else "chosen, blended"
        return {"candidate": name, "model": spec["model"], "params": {**spec["params"], **best.params},
                self.metric: round(best.score, 6), "trials": entry["trials"],
                "seconds": round(entry["seconds"], 3), "status": status}

    @classmethod
    def _assembled(cls, params: dict[str, Any], parts: list[Recommender], weights: np.ndarray) -> AutoRecommender:
        """A blend of fitted models (fitted on the same data) as a recommender with the first one's histories."""
        model = cls(**params)
        first = parts[0]
        for name in ("user_ids_", "item_ids_", "X_", "kinds_", "item_users_", "item_titles_", "item_categories_"):
            setattr(model, name, getattr(first, name))
        model.parts_, model.weights_ = list(parts), np.asarray(weights, dtype=np.float32)
        model._maps = {}
        return model

    def candidate_models(self) -> dict[str, Recommender]:
        """Every candidate as fitted on the training part, the validation part in its histories (only right after
        ``fit`` with ``keep_candidates=True``)."""
        if not getattr(self, "_candidates", None):
            raise InputError("candidate_models() needs a fit with keep_candidates=True (they are not saved)")
        return dict(self._candidates)

    def card_params(self) -> dict[str, Any]:
        """The parameters, and what was chosen: every candidate's validation score."""
        from shoplens.base import json_safe

        card = super().card_params()
        if hasattr(self, "selection_"):
            card |= json_safe({"chosen": self.chosen_, "validation": self.validation_, "selection": self.selection(),
                               "selection_seconds": self.selection_seconds_})
        return card

    def selection(self) -> list[dict[str, Any]]:
        """Every candidate's validation score (and the blend's, when tried), best first."""
        self._check_fitted()
        rows = [*self.selection_, *([self.blend_] if self.blend_ else [])]
        return sorted(rows, key=lambda r: -r.get(self.metric, -np.inf))

    # -- scoring through the parts ------------------------------------------------------------------------------
    def _after_load(self) -> None:
        self._maps = {}
        self._candidates = {}

    def _map(self, position: int) -> tuple[np.ndarray, np.ndarray | None]:
        """For a part: its user index of each of our customers (-1: unknown to it) and, when its catalogue
        differs from ours, its item index of each of our items (-1: unknown to it)."""
        maps = self.__dict__.setdefault("_maps", {})
        if position not in maps:
            part = self.parts_[position]
            users = part.user_indices(self.user_ids_) if len(self.user_ids_) else np.zeros(0, np.int64)
            same = len(part.item_ids_) == len(self.item_ids_) and bool((part.item_ids_ == self.item_ids_).all())
            maps[position] = (users, None if same else part.item_index(self.item_ids_, strict=False))
        return maps[position]

    def _part_rows(self, position: int, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        part = self.parts_[position]
        user_map, item_map = self._map(position)
        inner_users = np.where(users >= 0, user_map[np.maximum(users, 0)], -1) if len(user_map) else users
        if item_map is None:
            return np.asarray(part._score_rows(rows, inner_users), dtype=np.float32)
        known = np.flatnonzero(item_map >= 0)
        to_inner = sp.csr_matrix((np.ones(len(known), np.float32), (known, item_map[known])),
                                 shape=(len(self.item_ids_), len(part.item_ids_)))
        inner = np.asarray(part._score_rows((rows @ to_inner).tocsr(), inner_users), dtype=np.float32)
        return self._to_outer(inner, item_map)

    @staticmethod
    def _to_outer(inner: np.ndarray, item_map: np.ndarray | None) -> np.ndarray:
        if item_map is None:
            return inner
        scores = np.full((inner.shape[0], len(item_map)), -np.inf, dtype=np.float32)
        known = item_map >= 0
        scores[:, known] = inner[:, item_map[known]]
        return scores

    def _score_rows(self, rows: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
        return self._combine([self._part_rows(p, rows, users) for p in range(len(self.parts_))])

    def score_histories(self, histories: list[list[str]]) -> np.ndarray:
        """Each part scores the ordered histories its own way (SASRec reads the order)."""
        self._check_fitted()
        return self._combine([self._to_outer(np.asarray(part.score_histories(histories), dtype=np.float32),
                                             self._map(p)[1]) for p, part in enumerate(self.parts_)])

    def _combine(self, scores: list[np.ndarray]) -> np.ndarray:
        """One part's scores as they are; two parts' standardised per row (over the items they can rank) and
        weighted — their scales differ. An item one part cannot recommend (-inf) stays out."""
        if len(scores) == 1:
            return scores[0]
        total = np.zeros_like(scores[0], dtype=np.float32)
        for weight, block in zip(self.weights_, scores, strict=True):
            finite = np.isfinite(block)
            count = np.maximum(finite.sum(axis=1, keepdims=True), 1)
            mean = np.where(finite, block, 0.0).sum(axis=1, keepdims=True) / count
            spread = np.sqrt((np.where(finite, block - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / count)
            total += weight * np.where(finite, (block - mean) / np.where(spread > 0, spread, 1.0), -np.inf)
        return total

    def item_affinity(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The first (best) part's reasons, in our item numbering."""
        part = self.parts_[0]
        item_map = self._map(0)[1]
        if item_map is None:
            return part.item_affinity(history_items, items)
        inner_history, inner_items = item_map[history_items], item_map[items]
        support = np.zeros((len(history_items), len(items)))
        rows, cols = np.flatnonzero(inner_history >= 0), np.flatnonzero(inner_items >= 0)
        if len(rows) and len(cols):
            support[np.ix_(rows, cols)] = part.item_affinity(inner_history[rows], inner_items[cols])
        return support

    def _extend(self, frame: pd.DataFrame) -> None:
        for part in self.parts_:
            part.extend_history(frame.drop(columns=["u", "i"]))
        self._maps = {}

    def _forget_rows(self, keep: np.ndarray) -> None:
        for part in self.parts_:
            part.forget_users(self.user_ids_[~keep])
        self._maps = {}


def _bounded(spec: dict[str, Any]) -> bool:
    """Whether the candidate's training is bounded by the time left (a ``max_seconds`` parameter not fixed)."""
    return "max_seconds" in MODELS[spec["model"]]._param_names() and "max_seconds" not in spec["params"]


def _walk(visit: Any, sizes: list[int], may_continue: Any) -> None:
    """Hill-climb on a grid: from the middle, one parameter at a time, step towards the better neighbour while
    the score improves; stop when no step improves (or time is up)."""
    position = tuple(size // 2 for size in sizes)
    best = visit(position)
    improved = True
    while improved and may_continue():
        improved = False
        for axis, size in enumerate(sizes):
            for step in (-1, 1):
                moved = False
                while may_continue():
                    nxt = list(position)
                    nxt[axis] += step
                    if not 0 <= nxt[axis] < size:
                        break
                    score = visit(tuple(nxt))
                    if score <= best:
                        break
                    position, best, moved, improved = tuple(nxt), score, True, True
                if moved:
                    break
