"""Pipeline steps: ok, failed (an error) and skipped (not applicable: the data are not there)."""

from __future__ import annotations

import shoplens as sl
from shoplens.errors import InputError
from shoplens.pipeline import NotApplicable, RunContext, Step, _run_step


def test_step_outcomes(workspace: sl.Workspace) -> None:
    ctx = RunContext(ws=workspace, profile="demo")

    def no_reviews(_: RunContext) -> dict:
        raise NotApplicable("the workspace has no reviews")

    def broken(_: RunContext) -> dict:
        raise InputError("bad parameter")

    ok = _run_step(Step("t", "train", "fine", lambda c: {"rows": 3}), ctx)
    skipped = _run_step(Step("t", "train", "absent", no_reviews), ctx)
    failed = _run_step(Step("t", "train", "broken", broken), ctx)
    assert (ok.status, ok.summary) == ("ok", {"rows": 3}) and ctx.outputs["t.fine"] == {"rows": 3}
    assert (skipped.status, skipped.error) == ("skipped", "the workspace has no reviews")
    assert (failed.status, failed.error) == ("failed", "bad parameter")


def test_steps_of_different_stages_may_share_a_name_and_engines_keep_their_own_steps() -> None:
    from shoplens.pipeline import registered_steps

    local = {(s.capability, s.stage, s.name) for s in registered_steps()}
    # recommend's training and deployment are both "recommender": the deployment (every customer's top-k) must run
    assert {("recommend", "train", "recommender"), ("recommend", "deploy", "recommender")} <= local
    on_spark = registered_steps(engine="spark")
    assert {s.capability for s in on_spark} == {"analytics", "reviews", "recommend", "forecast"}
    assert not local & {(s.capability, s.stage, s.name) for s in on_spark}
