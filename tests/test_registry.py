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


def three_versions(ws: sl.Workspace) -> tuple[ModelRegistry, list[str]]:
    registry = ModelRegistry(ws)
    versions = [registry.save("stars", "reviews", lambda d, i=i: (d / "w.bin").write_bytes(bytes([i]))).version
                for i in range(3)]
    return registry, versions


def test_rollback_undoes_the_deploys_one_at_a_time(workspace: sl.Workspace) -> None:
    registry, (a, b, c) = three_versions(workspace)
    with pytest.raises(InputError, match="no deployed version to roll back"):
        registry.rollback("stars")
    for version in (a, b, b, c):  # deploying the deployed version again adds no step to undo
        registry.deploy("stars", version, by="tester")
    assert registry.rollback_target("stars") == b
    assert registry.rollback("stars", by="ops", reason="worse").version == b
    assert registry.rollback("stars").version == a
    with pytest.raises(InputError, match="nothing to roll back to"):
        registry.rollback("stars")
    assert registry.deployed_version("stars") == a
    history = registry.history("stars")
    assert [(e.action, e.version, e.previous) for e in history] == [
        ("deploy", a, None), ("deploy", b, a), ("deploy", b, b), ("deploy", c, b), ("rollback", b, c),
        ("rollback", a, b)]
    assert (history[4].by, history[4].reason) == ("ops", "worse")
    registry.deploy("stars", c)  # a new deploy after rollbacks: undone by the next rollback
    assert registry.rollback("stars").version == a


def test_a_pointer_written_by_hand_is_undone_first(workspace: sl.Workspace) -> None:
    registry, (a, b, c) = three_versions(workspace)
    registry.deploy("stars", a)
    registry.deploy("stars", b)
    (workspace.dir("models") / "stars" / "DEPLOYED").write_text(c)  # or a crash before the history line
    assert registry.rollback("stars").version == b


def test_rollback_to_a_removed_version_names_it(workspace: sl.Workspace) -> None:
    import shutil

    registry, (a, b, _) = three_versions(workspace)
    registry.deploy("stars", a)
    registry.deploy("stars", b)
    shutil.rmtree(registry.path("stars", a))
    with pytest.raises(NotFound, match=f"version {a}, deployed before {b}, is no longer in the registry"):
        registry.rollback("stars")
    assert registry.deployed_version("stars") == b


def test_names_and_versions_stay_inside_the_registry(workspace: sl.Workspace) -> None:
    registry, (a, _, _) = three_versions(workspace)
    for name, version in (("..", "latest"), ("stars", "../stars/" + a), ("stars", ".hidden"), ("a/b", "latest")):
        with pytest.raises(InputError):
            registry.path(name, version)
    with pytest.raises(NotFound, match="models here: stars"):
        registry.deploy("recs", "latest")
    with pytest.raises(NotFound, match="has no version 'nope'"):
        registry.deploy("stars", "nope")


def test_diff_puts_two_real_versions_side_by_side(model_versions: sl.Workspace) -> None:
    registry = ModelRegistry(model_versions)
    sasrec, ease = registry.versions("recommend")
    diff = registry.diff("recommend", sasrec.version, ease.version)
    assert diff["data_fingerprint"] == {"a": sasrec.data_fingerprint, "b": ease.data_fingerprint, "same": True}
    params = {p["param"]: p for p in diff["params"]}
    assert (params["model"]["a"], params["model"]["b"], params["model"]["changed"]) == ("sasrec", "ease", True)
    assert params["lam"]["a"] is None and params["lam"]["b"] == ease.params["lam"]
    rows = {(r["role"], r["metric"]): r for r in diff["metrics"]}
    ours = rows[("ours", "ndcg@10")]
    measured = {c.params["model"]: next(r["metrics"]["ndcg@10"] for r in c.metrics if r["role"] == "ours")
                for c in (sasrec, ease)}
    assert (ours["model"], ours["a"], ours["b"]) == ("sasrec → ease", measured["sasrec"], measured["ease"])
    assert ours["delta"] == pytest.approx(measured["ease"] - measured["sasrec"])
    assert "per-user stratified 75/25" in ours["protocol"]
    baseline = rows[("baseline", "ndcg@10")]  # popularity on the same split, in both cards
    assert baseline["model"] == "popularity" and baseline["delta"] == pytest.approx(0.0)


def test_curves_of_a_model_trained_in_epochs(model_versions: sl.Workspace) -> None:
    from shoplens.recommend.base import Recommender

    registry = ModelRegistry(model_versions)
    sasrec, ease = registry.versions("recommend")
    curves = registry.curves("recommend", sasrec.version)
    assert list(curves) == [""]
    train, validation = curves[""]["train"], curves[""]["validation"]
    model = Recommender.load(registry.path("recommend", sasrec.version))
    assert [p["step"] for p in train] == [1, 2, 3] == [p["step"] for p in validation]
    assert all(p["loss"] > 0 for p in train)
    assert [p["metric"] for p in validation] == pytest.approx(model.history_ndcg_)
    assert max(p["metric"] for p in validation) == pytest.approx(model.validation_ndcg_)
    assert registry.curves("recommend", ease.version) == {}


def test_curves_read_from_tensorboard_event_files_alone(model_versions: sl.Workspace, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (extra shoplens[text])")
    from tests.conftest import copy_workspace

    ws = copy_workspace(model_versions, tmp_path)
    registry = ModelRegistry(ws)
    version = registry.versions("recommend")[0].version
    from_json = registry.curves("recommend", version)[""]
    (registry.path("recommend", version) / "curves.json").unlink()
    from_events = registry.curves("recommend", version)[""]
    for series in ("train", "validation"):
        assert [p["step"] for p in from_events[series]] == [p["step"] for p in from_json[series]]
    assert [p["loss"] for p in from_events["train"]] == pytest.approx([p["loss"] for p in from_json["train"]],
                                                                     rel=1e-6)
    assert [p["metric"] for p in from_events["validation"]] == pytest.approx(
        [p["metric"] for p in from_json["validation"]], rel=1e-6)
