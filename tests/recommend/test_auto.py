"""The AutoRecommender on the session's simulated shop: it keeps the candidate with the highest validation score
(never a lower one), its recorded scores are what each candidate really scores on that validation part, a blend
only when it scores higher, the choice refitted on everything, saved and loaded, erased from, bounded in time,
and clear errors for bad candidates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shoplens as sl
from shoplens.errors import InputError
from shoplens.recommend import EASE, AutoRecommender, ItemKNN, Recommender, SASRec
from shoplens.recommend.auto import default_candidates, holdout
from shoplens.recommend.data import interactions_frame, products_frame
from shoplens.recommend.evaluate import evaluate_histories, evaluate_model
from shoplens.recommend.persist import MODELS

CANDIDATES = ("popularity", {"model": "itemknn", "grid": {"neighbors": [10, 20, 40]}},
              {"model": "ease", "grid": {"lam": [10, 50, 200, 800]}}, {"model": "session_ease", "params": {"lam": 100}})


@pytest.fixture(scope="module")
def frame(small_shop: sl.Workspace) -> pd.DataFrame:
    return interactions_frame(small_shop)


@pytest.fixture(scope="module")
def auto(small_shop: sl.Workspace) -> AutoRecommender:
    return AutoRecommender(candidates=CANDIDATES, keep_candidates=True).fit(small_shop)


def scored(model: AutoRecommender) -> list[dict]:
    return [r for r in model.selection() if model.metric in r]


def test_the_choice_is_never_below_another_candidate_on_validation(auto: AutoRecommender) -> None:
    rows = scored(auto)
    assert {r["candidate"] for r in rows} >= {"popularity", "itemknn", "ease", "session_ease"}
    best = max(r["ndcg@10"] for r in rows)
    chosen = next(r for r in rows if r["candidate"] == auto.chosen_)
    assert chosen["ndcg@10"] == best
    assert auto.chosen_ != "popularity"  # personal histories beat one list for everybody on this shop
    others = [r for r in rows if r["candidate"] != auto.chosen_]
    assert all(r["ndcg@10"] <= best for r in others)
    assert auto.validation_["split"] == "leave_one_out" and auto.validation_["customers"] > 100


def test_recorded_scores_are_each_candidates_own_validation_score(auto: AutoRecommender, frame: pd.DataFrame,
                                                                  small_shop: sl.Workspace) -> None:
    part = holdout(frame, "leave_one_out", auto.seed)
    products = products_frame(small_shop)
    for row in auto.selection_:
        if "params" not in row:
            continue
        model = MODELS[row["model"]](**row["params"]).fit(part.train, products)
        assert evaluate_model(model, part.rows, ks=(10,))["ndcg@10"] == pytest.approx(row["ndcg@10"], abs=1e-6)
    # the walk over λ ends where neither neighbour on the grid scores higher
    ease = next(r for r in auto.selection_ if r["candidate"] == "ease")
    grid = CANDIDATES[2]["grid"]["lam"]
    at = grid.index(ease["params"]["lam"])
    assert 1 < ease["trials"] <= len(grid)
    for lam in grid[max(at - 1, 0):at] + grid[at + 1:at + 2]:
        score = evaluate_model(EASE(lam=lam).fit(part.train, products), part.rows, ks=(10,))["ndcg@10"]
        assert score <= ease["ndcg@10"] + 1e-9


def test_order_of_candidates_does_not_change_a_clear_choice(small_shop: sl.Workspace, auto: AutoRecommender) -> None:
    again = AutoRecommender(candidates=tuple(reversed(CANDIDATES)), blend=False).fit(small_shop)
    rows = {r["candidate"]: r["ndcg@10"] for r in scored(auto) if not r["candidate"].startswith("blend")}
    winner = max(rows, key=rows.get)
    if sorted(rows.values())[-1] > sorted(rows.values())[-2]:
        assert again.chosen_ == winner


def test_blend_only_when_it_scores_higher(auto: AutoRecommender) -> None:
    blend = auto.blend_
    assert blend is not None and blend["candidate"].startswith("blend(")
    singles = max(r["ndcg@10"] for r in auto.selection_ if "params" in r)
    if auto.chosen_.startswith("blend("):
        assert blend["ndcg@10"] > singles and len(auto.parts_) == 2
    else:
        assert blend["ndcg@10"] <= singles and len(auto.parts_) == 1
    assert sum(blend["weights"]) == pytest.approx(1.0, abs=1e-3)


def test_a_blend_scores_the_weighted_standardised_scores(small_shop: sl.Workspace, frame: pd.DataFrame) -> None:
    ease, knn = EASE(lam=50).fit(small_shop), ItemKNN(neighbors=20).fit(small_shop)
    blend = AutoRecommender._assembled(AutoRecommender().get_params(), [ease, knn], np.array([0.7, 0.3]))
    users = np.arange(25)
    expected = sum(w * _standardised(m.score(users)) for w, m in ((0.7, ease), (0.3, knn)))
    np.testing.assert_allclose(blend.score(users), expected, rtol=1e-4, atol=1e-4)
    top, _ = blend.top_k(users, 5)
    assert (top >= 0).all()


def _standardised(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(axis=1, keepdims=True)) / scores.std(axis=1, keepdims=True)


def test_the_choice_is_refitted_on_everything_saved_and_loaded(auto: AutoRecommender, tmp_path: Path) -> None:
    part = auto.parts_[0]
    assert part.X_.nnz == auto.X_.nnz and len(part.user_ids_) == len(auto.user_ids_)  # validation rows included
    kept = auto.candidate_models()[auto.chosen_ if len(auto.parts_) == 1 else auto.chosen_[6:].split("+")[0]]
    assert kept is not part and kept.X_.nnz == auto.X_.nnz  # the kept candidate got the validation as history only
    loaded = Recommender.load(auto.save(tmp_path / "auto"))
    assert isinstance(loaded, AutoRecommender) and loaded.chosen_ == auto.chosen_
    assert loaded.selection_ == auto.selection_
    users = np.arange(30)
    np.testing.assert_array_equal(loaded.top_k(users, 10)[0], auto.top_k(users, 10)[0])
    customer = auto.user_ids_[3]
    shown = loaded.recommend(customer, 5)
    assert list(shown["product_id"]) == list(auto.recommend(customer, 5)["product_id"])
    assert shown["reason"].str.startswith(("because you", "popular")).all()
    card = auto.card_params()
    assert card["model"] == "auto" and card["chosen"] == auto.chosen_
    assert {r["candidate"] for r in card["selection"]} >= {"popularity", "itemknn", "ease", "session_ease"}
    with pytest.raises(InputError, match="keep_candidates"):
        loaded.candidate_models()


def test_forgetting_a_customer_reaches_the_parts(auto: AutoRecommender, tmp_path: Path) -> None:
    model = Recommender.load(auto.save(tmp_path / "auto"))
    customer = str(model.user_ids_[0])
    assert model.forget_users([customer]) == 1
    assert customer not in model.user_ids_ and all(customer not in p.user_ids_ for p in model.parts_)
    assert model.recommend(customer, 3)["reason"].str.startswith("popular").all()
    loaded = Recommender.load(model.save(tmp_path / "forgotten"))
    assert customer not in loaded.parts_[0].user_ids_


def test_an_early_stopped_sequence_model_is_kept_not_refitted(small_shop: sl.Workspace) -> None:
    sasrec = {"model": "sasrec", "params": {"dim": 16, "layers": 1, "max_epochs": 2, "patience": 1}}
    auto = AutoRecommender(candidates=(sasrec,), keep_candidates=True).fit(small_shop)
    part = auto.parts_[0]
    assert isinstance(part, SASRec) and part is auto.candidate_models()["sasrec"]
    assert part.X_.nnz == auto.X_.nnz  # trained on the training part, the validation item added to histories
    assert part.epochs_ <= 2 and auto.chosen_ == "sasrec"
    users = np.arange(10)
    top, _ = auto.top_k(users, 5)
    seen = auto.X_[users].toarray() > 0
    assert not any(seen[row, top[row][top[row] >= 0]].any() for row in range(len(users)))


def test_sessions_validate_on_the_latest_sessions(frame: pd.DataFrame) -> None:
    auto = AutoRecommender(candidates=("popularity", "itemknn", "ease"), split="sessions", blend=False).fit(frame)
    part = holdout(frame, "sessions", 0)
    sessions = part.rows.groupby("customer_id").size()
    assert auto.validation_ == {"split": "sessions", "rows": len(part.rows), "metric": "ndcg@10",
                                "customers": len(sessions), "targets": int((sessions - 1).sum())}
    assert len(part.histories) == len(part.targets) == int((sessions - 1).sum())  # every view after the first
    starts = frame.assign(t=pd.to_datetime(frame["ts"])).groupby("customer_id")["t"].min()
    held = set(part.rows["customer_id"])
    assert starts[list(held)].min() >= starts[list(set(starts.index) - held)].max()  # the latest ones
    for row in auto.selection_:
        model = MODELS[row["model"]](**row["params"]).fit(part.train)
        score = evaluate_histories(model, part.histories, part.targets, ks=(10,))["ndcg@10"]
        assert score == pytest.approx(row["ndcg@10"], abs=1e-6)
    histories = [h[:3] for h in part.histories[:5]]
    np.testing.assert_allclose(auto.score_histories(histories), auto.parts_[0].score_histories(histories))


def test_time_budget_skips_what_it_cannot_start(frame: pd.DataFrame) -> None:
    auto = AutoRecommender(candidates=("popularity", "ease", "itemknn"), time_budget=1e-6).fit(frame)
    assert auto.chosen_ == "popularity"
    statuses = {r["candidate"]: r["status"] for r in auto.selection_}
    assert statuses["ease"] == statuses["itemknn"] == "skipped: time budget spent"


def test_default_candidates_follow_the_data(frame: pd.DataFrame, small_shop: sl.Workspace) -> None:
    products = products_frame(small_shop)
    specs, left_out = default_candidates(frame, products, "leave_one_out")
    names = [s["name"] for s in specs]
    assert names[:4] == ["popularity", "itemknn", "ease", "session_ease"] and "text_hybrid" in names
    assert ("sasrec" in names) == (frame.groupby("customer_id").size().median() >= 5)
    # the simulated catalogue has brands and categories: the side-information SASRec comes with plain SASRec
    assert ("sasrec_attributes" in names) == ("sasrec" in names)
    if "sasrec_attributes" in names:
        assert specs[names.index("sasrec_attributes")]["params"]["side"] == "attributes"
    bare = products[["product_id"]]
    specs, left_out = default_candidates(frame, bare, "held_out")
    assert "sasrec_attributes" not in [s["name"] for s in specs]
    reason = {r["candidate"]: r["status"] for r in left_out}["sasrec_attributes"]
    assert ("no product attributes" if "sasrec" in names else "too short") in reason
    untimed = frame.drop(columns=["ts"])
    specs, left_out = default_candidates(untimed, None, "stratified")
    assert [s["name"] for s in specs] == ["popularity", "itemknn", "ease"]
    reasons = {r["candidate"]: r["status"] for r in left_out}
    assert "no timestamps" in reasons["session_ease"] and "no product texts" in reasons["text_hybrid"]
    assert "not a sequence" in reasons["sasrec"] and "not a sequence" in reasons["sasrec_attributes"]
    without_time = AutoRecommender(candidates=("popularity", "ease"), blend=False).fit(untimed)
    assert without_time.validation_["split"] == "stratified"


@pytest.mark.parametrize(("params", "message"), [
    ({"candidates": ("nope",)}, "unknown model 'nope'"),
    ({"candidates": ({"model": "ease", "grid": {"lambda": [1]}},)}, "ease has no parameter 'lambda'"),
    ({"candidates": ("ease", "ease")}, "given twice"),
    ({"candidates": ({"model": "ease", "grid": {"lam": []}},)}, "at least one value"),
    ({"candidates": "ease"}, "give a list"),
    ({"candidates": ("auto",)}, "unknown model 'auto'"),
    ({"metric": "ndcg"}, "name@k"),
    ({"metric": "nonsense@10", "candidates": ("popularity",)}, "is not measured"),
    ({"split": "random"}, "use one of"),
    ({"time_budget": 0}, "seconds > 0"),
])
def test_bad_parameters_say_what_is_wrong(frame: pd.DataFrame, params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        AutoRecommender(**params).fit(frame)


def test_too_little_data_to_validate_is_an_error() -> None:
    single = pd.DataFrame({"customer_id": ["a", "b"], "product_id": ["x", "y"], "ts": [1, 2]})
    with pytest.raises(InputError, match="too little data"):
        AutoRecommender(candidates=("popularity",)).fit(single)
