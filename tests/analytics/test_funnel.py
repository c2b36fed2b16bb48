"""Funnels: hand-checked on the tiny shop (alternative and optional steps, windows, rebuilt sessions,
breakdowns) and on the Taobao sample against an independent plain-Python count."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

import shoplens as sl
from shoplens import analytics
from shoplens.analytics.funnels import Funnel, FunnelStep, parse_duration
from shoplens.errors import InputError
from tests.conftest import shared_path

STEPS = ["view", "wishlist?", "cart=add_to_cart|checkout", "purchase"]


def counts(result, segment: str = "all") -> list[int]:
    return result.steps[result.steps["segment"] == segment]["entities"].tolist()


def test_session_funnel_by_hand(tiny_shop: sl.Workspace) -> None:
    result = analytics.funnel(tiny_shop, STEPS, store=False)
    # views: S1, S2, S3, S4 and C4's first rebuilt session (its purchase came 35 min later: a new session)
    # cart or checkout after the view: S1 (cart), S2 (checkout: "buy now"), S4, C4; S3 carted before viewing
    # wishlist (optional, after the view): S4; purchase after the cart step: S1, S2
    assert counts(result) == [5, 1, 4, 2]
    steps = result.steps.set_index("step_no")
    assert steps.loc[4, "conversion_from_start"] == pytest.approx(0.4)
    assert steps.loc[4, "conversion_from_previous"] == pytest.approx(0.5)  # from the required cart step
    assert steps.loc[2, "conversion_from_previous"] == pytest.approx(0.2)  # optional: from the view
    assert bool(steps.loc[2, "optional"]) and steps.loc[3, "step"] == "cart"
    assert steps.loc[4, "median_seconds_from_start"] == 90.0  # S2 took 90 s, S1 180 s: the lower median
    times = result.times.set_index("bucket_no")
    assert times.loc[2, "entities"] == 2 and times["entities"].sum() == 2  # both within 1–5 minutes
    assert times.loc[2, "share"] == 1.0


def test_an_optional_step_comes_after_the_previous_required_one(tiny_shop: sl.Workspace) -> None:
    later = analytics.funnel(tiny_shop, ["view", "cart=add_to_cart|checkout", "wishlist?", "purchase"], store=False)
    assert counts(later) == [5, 4, 0, 2]  # S4 wished before it carted: not after the cart step


def test_customer_funnel_and_its_window(tiny_shop: sl.Workspace) -> None:
    steps = ["view", "cart=add_to_cart|checkout", "purchase"]
    hour = analytics.funnel(tiny_shop, steps, entity="customer", window="1h", store=False)
    # C4 viewed at 10:00, carted at 10:20 and bought at 10:55: within the hour; S4 is anonymous
    assert counts(hour) == [4, 3, 3]
    half_hour = analytics.funnel(tiny_shop, steps, entity="customer", window="30m", store=False)
    assert counts(half_hour) == [4, 3, 2]  # C4's purchase is outside 30 minutes


def test_funnel_breakdowns(tiny_shop: sl.Workspace) -> None:
    by_device = analytics.funnel(tiny_shop, STEPS, breakdown="properties.device", store=False)
    assert counts(by_device, "mobile") == [2, 0, 1, 1]  # S1 converts; S3 carted before its view
    assert counts(by_device, "desktop") == [2, 1, 2, 1]
    assert counts(by_device, "(unknown)") == [1, 0, 1, 0]  # C4's events carry no properties
    assert counts(by_device) == [5, 1, 4, 2]  # "all" is still there
    by_country = analytics.funnel(tiny_shop, STEPS, breakdown="country", store=False)
    assert counts(by_country, "US") == [2, 0, 1, 1]  # S2 (C2) and S3 (C3)


def test_session_gap_decides_what_a_session_is(tiny_shop: sl.Workspace) -> None:
    long_gap = analytics.funnel(tiny_shop, STEPS, session_gap_minutes=60, store=False)
    assert counts(long_gap) == [5, 1, 4, 3]  # C4's purchase now belongs to its session


def test_funnel_definitions_are_checked() -> None:
    assert FunnelStep.parse("cart=add_to_cart|checkout?") == FunnelStep("cart", ("add_to_cart", "checkout"), True)
    assert parse_duration("2h") == 7200 and parse_duration(90) == 90
    for bad, message in ((["view"], "at least two"), (["view?", "purchase"], "cannot be optional"),
                         (["view", "view|purchase"], "two funnel steps"), (["view", "buy_now"], "unknown event"),
                         (["view", "=|"], "name the event types")):
        with pytest.raises(InputError, match=message):
            Funnel.parse(bad)
    with pytest.raises(InputError, match="window"):
        Funnel.parse(["view", "purchase"], window="soon")


def taobao_by_hand(path: Path, gap_s: int = 1800, window_s: int = 86400) -> list[int]:
    """view → cart → purchase per rebuilt session, counted with plain Python from the raw file."""
    kinds = {"pv": 1, "cart": 2, "buy": 3}
    by_user: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with path.open(newline="") as handle:
        for user, _item, _category, behaviour, ts in csv.reader(handle):
            by_user[user].append((int(ts), behaviour))
    reached = [0, 0, 0]
    for events in by_user.values():
        events.sort()
        sessions, last = [], None
        for ts, behaviour in events:
            if last is None or ts - last > gap_s:
                sessions.append([])
            sessions[-1].append((ts, kinds.get(behaviour)))
            last = ts
        for session in sessions:
            starts = [ts for ts, step in session if step == 1]
            if not starts:
                continue
            t1 = min(starts)
            reached[0] += 1
            t2 = min((ts for ts, step in session if step == 2 and t1 <= ts <= t1 + window_s), default=None)
            if t2 is None:
                continue
            reached[1] += 1
            if any(step == 3 and t2 <= ts <= t1 + window_s for ts, step in session):
                reached[2] += 1
    return reached


def test_taobao_sample_funnel(tmp_path: Path) -> None:
    from shoplens.data.datasets import load_dataset

    path = shared_path("taobao_userbehavior_sample", "UserBehavior_head4321.csv")
    ws = sl.Workspace.init(tmp_path / "ws")
    load_dataset("taobao_userbehavior_sample", ws, path)
    result = analytics.funnel(ws, ["view", "cart=add_to_cart", "purchase"], store=False)
    expected = taobao_by_hand(path)
    assert counts(result) == expected
    assert expected[0] > 100 and expected[2] > 0  # a real funnel: many sessions, some purchases
