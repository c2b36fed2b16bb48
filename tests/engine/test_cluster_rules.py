"""The rules of the cluster module that need no Spark: which master a job runs on, and that a recorded pid is
acted on only while it is still the process that was started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shoplens.engine import cluster, resolve_master


def test_the_master_is_the_argument_else_the_environment_else_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cluster.MASTER_ENV, raising=False)
    assert resolve_master(None) == "local[2]"
    monkeypatch.setenv(cluster.MASTER_ENV, "spark://10.0.0.5:7077")
    assert resolve_master(None) == "spark://10.0.0.5:7077"
    assert resolve_master("local[4]") == "local[4]"
    assert resolve_master("  ") == "spark://10.0.0.5:7077"  # an empty option is no choice


def test_a_loopback_cluster_gets_a_loopback_driver() -> None:
    assert cluster.session_defaults("spark://127.0.0.1:7077")["spark.driver.host"] == "127.0.0.1"
    assert cluster.session_defaults("spark://spark-master.internal:7077") == {}
    assert cluster.session_defaults("local[2]") == {}


def test_stop_never_signals_a_pid_that_is_not_the_daemon_it_started(tmp_path: Path) -> None:
    stranger = subprocess.Popen(["sleep", "60"])  # holds a pid the state file claims for a Spark master
    try:
        master = cluster.SparkProcess("master", cluster.MASTER_CLASS, stranger.pid, 7077, str(tmp_path / "m.log"),
                                      None)
        state = cluster.ClusterState("127.0.0.1", 7077, 8080, 1, "1g", "/nowhere", str(tmp_path), "2026-01-01",
                                     master)
        (tmp_path / "state.json").write_text(state.to_json(), encoding="utf-8")
        assert not cluster.is_running(master)
        assert cluster.cluster_status(state_dir=tmp_path)["running"] is False
        assert cluster.stop_cluster(state_dir=tmp_path) == []
        assert stranger.poll() is None, "stop signalled a process it did not start"
        assert not (tmp_path / "state.json").exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_bad_options_are_refused_before_anything_starts(tmp_path: Path) -> None:
    from shoplens.errors import InputError

    for options, message in (({"workers": 0}, "--workers 0"), ({"memory": "2x"}, "--memory '2x'"),
                             ({"port": 70000}, "--port 70000"), ({"cores": 0}, "--cores 0")):
        with pytest.raises(InputError, match=message):
            cluster.start_cluster(**options, state_dir=tmp_path)
    assert not (tmp_path / "state.json").exists()
