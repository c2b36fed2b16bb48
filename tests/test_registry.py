"""The model registry: versions, cards, deployment, and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

import shoplens as sl
from shoplens.errors import InputError, NotFound
from shoplens.registry import ModelRegistry


def test_versions_cards_and_deployment(workspace: sl.Workspace) -> None:
    registry = ModelRegistry(workspace)
    first = registry.save("stars", "reviews", lambda d: (d / "weights.bin").write_bytes(b"1"), params={"lr": 1e-4})
    second = registry.save("stars", "reviews", lambda d: (d / "weights.bin").write_bytes(b"2"))
    assert [c.version for c in registry.versions("stars")] == [first.version, second.version]
    assert registry.path("stars").name == second.version  # nothing deployed: latest
    registry.deploy("stars", first.version)
    assert (registry.path("stars") / "weights.bin").read_bytes() == b"1"
    assert registry.card("stars").params == {"lr": 1e-4}
    assert registry.card("stars").data_fingerprint == workspace.data_fingerprint()
    assert set(registry.deployed()) == {"stars"}


def test_failed_save_leaves_registry_as_it_was(workspace: sl.Workspace) -> None:
    registry = ModelRegistry(workspace)

    def broken(folder: Path) -> None:
        (folder / "half.bin").write_bytes(b"x")
        raise RuntimeError("training crashed")
    with pytest.raises(RuntimeError):
        registry.save("recs", "recommend", broken)
    assert registry.versions("recs") == []
    assert list((workspace.dir("models") / "recs").iterdir()) == []
    with pytest.raises(NotFound):
        registry.path("recs")
    with pytest.raises(InputError):
        registry.save("../escape", "recommend", lambda d: None)


def test_decisions_are_appended_and_a_torn_last_line_is_skipped(workspace: sl.Workspace) -> None:
    registry = ModelRegistry(workspace)
    assert registry.decisions("forecast") == []
    registry.record_decision("forecast", {"deployed": False, "reason": "no gain"})
    registry.record_decision("forecast", {"deployed": True, "reason": "challenger better", "scores": {"x": 1.0}})
    with open(workspace.dir("models") / "forecast" / "decisions.jsonl", "a", encoding="utf-8") as log:
        log.write('{"deployed": tr')  # a write cut short by a crash
    registry.record_decision("forecast", {"deployed": False, "reason": "after the crash"})
    entries = registry.decisions("forecast")
    assert [e["reason"] for e in entries] == ["no gain", "challenger better", "after the crash"]
    assert entries[1]["scores"] == {"x": 1.0} and entries[0]["recorded_at"]
    with pytest.raises(InputError):
        registry.record_decision("../escape", {})
