"""What the operations benchmark's parts share: the size (full or ``--quick``), the simulated shop as files (cached),
the timed ``shoplens run`` on it, and the trained workspace the load and soak parts serve (cached).

The mid-size shop of issue 14: ``simulate(n_customers=50_000, n_products=2_000, days=365, seed=0)`` with about
1,000,000 order lines (``n_orders`` 523,000: the simulator places about 1.1 × that many orders, 1.73 lines each),
a review rate giving about 50,000 reviews (English and Chinese), and the click log cut to its most recent
~2,000,000 events (whole sessions that start on or after the cut: a shop keeping its recent click history). The
simulator draws about 7 events per order line, so a whole year of clicks would be about 7 M. Q&A come from the
simulator's FAQ, policies and product questions: about 1,400 (the issue's 5,000 is more than the simulator writes
for 2,000 products). With review rate 0.033 the shop had 999,266 order lines, 578,885 orders, 43,321 reviews,
1,999,910 events and 1,443 Q&A (0.038 scales the reviews to about 50,000); simulating it took 22 minutes on 2
busy cores at low priority (about 5 on a quiet machine) and 5.5 GB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "shoplens" / "ops"
BENCHMARK = "operations"
QUICK_ENV = "SHOPLENS_OPS_QUICK"


@dataclass(frozen=True)
class Size:
    name: str
    shop: dict[str, Any]  # simulate() arguments
    max_events: int  # the click log is cut to about this many of the most recent events
    load_requests: int
    load_concurrency: int
    soak_seconds: int
    soak_rate: float  # requests per second, open loop

    @property
    def folder(self) -> Path:
        """The cache of this size; its name changes with the shop's parameters (no stale shop after a change)."""
        key = hashlib.sha256(json.dumps([self.shop, self.max_events], sort_keys=True).encode()).hexdigest()[:8]
        return CACHE / f"{self.name}-{key}"


FULL = Size("midsize", {"n_customers": 50_000, "n_products": 2_000, "days": 365, "seed": 0, "n_orders": 523_000,
                        "review_rate": 0.038, "browse_sessions_per_order": 0.5},
            max_events=2_000_000, load_requests=20_000, load_concurrency=32, soak_seconds=600, soak_rate=50.0)
QUICK = Size("quick", {"n_customers": 500, "n_products": 60, "days": 240, "seed": 0, "review_rate": 0.2,
                       "browse_sessions_per_order": 0.5},
             max_events=60_000, load_requests=1_200, load_concurrency=32, soak_seconds=30, soak_rate=50.0)


def size() -> Size:
    """The size chosen by ``--quick`` (benchmarks/operations.py sets the environment for the parts)."""
    return QUICK if os.environ.get(QUICK_ENV) == "1" else FULL


def dataset_name() -> str:
    return "simulator_operations" if size() is FULL else "simulator_operations_quick"


def child_env() -> dict[str, str]:
    """This checkout's sources first on the path, offline, passive OpenMP (as the tests' child processes)."""
    from _loopback import child_env as loopback_env

    return loopback_env()


def shoplens(*args: str) -> list[str]:
    return [sys.executable, "-m", "shoplens.cli", *args]


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


# -- the shop as files ---------------------------------------------------------------------------------------
def shop_files(chosen: Size) -> Path:
    """``base/``, ``last_day/`` and ``truth/`` of the simulated shop (built once, then cached)."""
    folder = chosen.folder / "shop"
    if (folder / "counts.json").exists():
        return folder
    from shoplens.data.synth import simulate

    started = time.perf_counter()
    print(f"simulating the {chosen.name} shop {chosen.shop} …", flush=True)
    shop = simulate(**chosen.shop)
    shop.tables["events"] = recent_events(shop.tables["events"], chosen.max_events)
    partial = folder.with_name("shop.partial")
    shutil.rmtree(partial, ignore_errors=True)
    last = chosen.shop["days"] - 1
    shop.period(0, last).write_files(partial / "base")
    shop.period(last).write_files(partial / "last_day")
    shutil.move(partial / "base" / "truth", partial / "truth")
    shutil.rmtree(partial / "last_day" / "truth")
    counts = {name: len(frame) for name, frame in shop.tables.items()}
    (partial / "counts.json").write_text(json.dumps(counts, indent=1), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    print(f"shop {counts} in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def recent_events(events: Any, keep: int) -> Any:
    """The most recent sessions holding about ``keep`` events (whole sessions, cut at a session start)."""
    if len(events) <= keep:
        return events
    starts = events.groupby("session_id")["event_ts"].transform("min")
    cut = events["event_ts"].sort_values().iloc[len(events) - keep]
    return events[starts >= cut].reset_index(drop=True)


def shop_counts(files: Path) -> dict[str, int]:
    return json.loads((files / "counts.json").read_text(encoding="utf-8"))


def ingest_folder(ws_path: Path, folder: Path) -> float:
    """Ingest every table file of ``folder`` (canonical order) into the workspace; seconds."""
    import shoplens as sl
    from shoplens.data.synth.shop import TABLE_ORDER

    started = time.perf_counter()
    ws = sl.Workspace.open(ws_path)
    for name in TABLE_ORDER:
        path = folder / f"{name}.parquet"
        if path.exists():
            ws.ingest(name, path, tz="UTC")
    return time.perf_counter() - started


def fresh_workspace(target: Path, files: Path) -> tuple[Path, float]:
    """A new workspace at ``target`` holding the shop's days before the last (and its truth); ingest seconds."""
    import shoplens as sl

    shutil.rmtree(target, ignore_errors=True)
    ws = sl.Workspace.init(target, name="operations benchmark shop")
    seconds = ingest_folder(ws.path, files / "base")
    shutil.copytree(files / "truth", ws.path / "truth")
    return ws.path, seconds


# -- shoplens run, timed ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimedRun:
    seconds: float
    peak_mb: float
    stages: dict[str, float]  # seconds per stage
    failed: list[str]


JSON_START = '{\n  "steps": ['  # how `shoplens run --json` opens its answer (clitools.emit, indent 2)
PEAK_WRAPPER = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE); "
                "sys.stdout.buffer.write(done.stdout); "
                "print('\\nPEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True); "
                "sys.exit(done.returncode)")


def timed_run(ws_path: Path, profile: str = "demo") -> TimedRun:
    """``shoplens run --profile PROFILE --json`` in a child process: wall seconds, the peak resident memory of
    the run's process (its own high-water mark, taken by a wrapper that only waits for it), seconds per stage.
    Each step is printed as it starts and ends (from the workspace's log), so a long run shows its progress."""
    command = [sys.executable, "-c", PEAK_WRAPPER, *shoplens("run", "--profile", profile, "--json",
                                                             "--workspace", str(ws_path))]
    print(f"shoplens run --profile {profile} on {ws_path} …", flush=True)
    log = ws_path / "logs" / "shoplens.log"
    seen = log.stat().st_size if log.exists() else 0
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:  # a file: the answer never blocks on a full pipe
        process = subprocess.Popen(command, env=child_env(), stdout=out, text=True)
        while process.poll() is None:
            time.sleep(2)
            seen = _print_steps(log, seen, time.perf_counter() - started)
        seconds = time.perf_counter() - started
        out.seek(0)
        answer = out.read()
    body, _, peak = answer.rpartition("\nPEAK_KB ")
    start = body.find(JSON_START)  # anything a library printed before the JSON is shown, not parsed
    try:
        steps = json.JSONDecoder().raw_decode(body, max(start, 0))[0]["steps"]
    except (ValueError, KeyError):
        raise SystemExit(f"shoplens run exited {process.returncode} without its JSON: {answer[-2000:]}") from None
    if start > 0:
        print(f"  warning: {start} characters on stdout before the JSON: {body[:start][:300]!r}", flush=True)
    stages: dict[str, float] = {}
    for step in steps:
        stages[step["stage"]] = round(stages.get(step["stage"], 0.0) + step["seconds"], 1)
    failed = [f"{s['capability']}.{s['name']}" for s in steps if s["status"] == "failed"]
    print(f"  {seconds:.0f} s, stages {stages}, failed {failed or 'none'}", flush=True)
    return TimedRun(round(seconds, 1), round(int(peak.split()[0]) / 1024, 1), stages, failed)


def _print_steps(log: Path, offset: int, elapsed: float) -> int:
    """Print the run's step lines the log gained since ``offset``; the new offset."""
    if not log.exists():
        return offset
    with open(log, encoding="utf-8", errors="replace") as file:
        file.seek(offset)
        for line in file.read().splitlines():
            if "shoplens.run:" in line:
                print(f"  {elapsed:5.0f} s  {line.split('shoplens.run:', 1)[1].strip()}", flush=True)
        return file.tell()


# -- the trained workspace the service parts serve -------------------------------------------------------------
def trained_folder(chosen: Size) -> Path:
    return chosen.folder / "trained"


def keep_trained(ws_path: Path, chosen: Size) -> Path:
    """Keep a trained workspace (moved, not copied) as the one the service parts use, replacing the previous one."""
    target = trained_folder(chosen)
    partial = target.with_name("trained.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    ws_path.rename(partial / "ws")
    (partial / "built.json").write_text(json.dumps({"commit": _commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%S")}),
                                        encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target / "ws"


def trained_workspace(chosen: Size) -> tuple[Path, str]:
    """The trained workspace (built when absent: the shop ingested whole, ``shoplens run --profile demo``) and
    the commit that trained it."""
    target = trained_folder(chosen)
    if not (target / "built.json").exists():
        files = shop_files(chosen)
        ws_path, _ = fresh_workspace(chosen.folder / "work-train", files)
        ingest_folder(ws_path, files / "last_day")
        run = timed_run(ws_path)
        if run.failed:
            raise SystemExit(f"shoplens run failed: {run.failed}")
        keep_trained(ws_path, chosen)
    built = json.loads((target / "built.json").read_text(encoding="utf-8"))
    return target / "ws", built["commit"]
