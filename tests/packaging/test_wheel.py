"""The wheel (issue 14, "Packaging"): built offline with the project's own build backend (hatchling, in the test
extra), it carries every module and data file of ``src/shoplens`` (SQL, dashboard templates and static files,
the report template, the default intents, the dataset catalog, review splits, the query vocabulary), and once
installed on its own — another folder on ``PYTHONPATH``, another working directory, no ``src`` anywhere — the
command line starts and real commands that read those files work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "shoplens"
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
pytestmark = pytest.mark.slow  # builds and installs a wheel, starts the command line five times


def package_files() -> set[str]:
    """Every file of the package as the wheel names it (``shoplens/...``), caches left out."""
    return {path.relative_to(PACKAGE.parent).as_posix() for path in PACKAGE.rglob("*")
            if path.is_file() and path.suffix not in SKIPPED_SUFFIXES and not SKIPPED_PARTS & set(path.parts)}


def project_version() -> str:
    """The version, from the one place it is written (pyproject.toml reads it from there too)."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/shoplens/__init__.py"
    found = re.search(r'^__version__ = "([^"]+)"$', (PACKAGE / "__init__.py").read_text(encoding="utf-8"), re.M)
    assert found, "src/shoplens/__init__.py names no __version__"
    return found.group(1)


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline (no index, no isolated build environment: the backend comes from this venv)."""
    folder = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(folder)], cwd=folder, timeout=300)
    built = sorted(folder.glob("shoplens-*.whl"))
    assert len(built) == 1, f"expected one shoplens wheel, found {[p.name for p in folder.iterdir()]}"
    return built[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed alone (no dependencies) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "-q",
         "--target", str(target), str(wheel)], cwd=target, timeout=300)
    return target


def wheel_env(site: Path) -> dict[str, str]:
    """The installed wheel first on the path, and nothing of this checkout (no src, no tests)."""
    keep = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "SHOPLENS_WORKSPACE")}
    return {**keep, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def test_wheel_carries_every_module_and_data_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = sorted(package_files() - names)
    assert not missing, f"{wheel.name} lacks {len(missing)} file(s) of src/shoplens: {missing[:20]}"
    # the kinds of data files the code opens by path or importlib.resources, named so a rename is noticed here
    for data in ("shoplens/assistant/default_intents.csv", "shoplens/data/datasets/catalog.toml",
                 "shoplens/analytics/sql/rfm.sql", "shoplens/serve/templates/base.html",
                 "shoplens/serve/static/style.css", "shoplens/report/templates/report.html.j2",
                 "shoplens/search/query_vocab.json"):
        assert data in names, f"{wheel.name} lacks {data}"
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "benchmarks/"))]


def test_wheel_metadata_names_version_and_command(wheel: Path) -> None:
    version = project_version()
    assert wheel.name.startswith(f"shoplens-{version}-py3-none-any"), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        info = f"shoplens-{version}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert f"Version: {version}" in metadata
    for extra in ("text", "forecast", "recommend"):
        assert f"Provides-Extra: {extra}" in metadata
    assert "shoplens = shoplens.cli:main" in entry_points


def test_installed_wheel_runs_commands_from_another_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = wheel_env(installed)
    python = [sys.executable, "-m"]
    where = run([sys.executable, "-c", "import shoplens; print(shoplens.__file__)"], cwd=elsewhere, env=env)
    assert Path(where.stdout.strip()).is_relative_to(installed), f"shoplens came from {where.stdout.strip()}"
    assert "Turn an online shop" in run([*python, "shoplens.cli", "--help"], cwd=elsewhere, env=env).stdout
    # the dataset catalog (importlib.resources)
    catalog = json.loads(run([*python, "shoplens.cli", "datasets", "list", "--json"], cwd=elsewhere, env=env).stdout)
    assert len(catalog) >= 5
    # a tiny simulated shop, then analyses read from the packaged SQL files and the report from its template
    ws = ["--workspace", str(elsewhere / "ws")]
    run([*python, "shoplens.cli", "simulate", "--customers", "120", "--products", "20", "--days", "60",
         "--json", *ws], cwd=elsewhere, env=env)
    kpis = json.loads(run([*python, "shoplens.cli", "analyze", "kpis", "--grain", "month", "--json", *ws],
                          cwd=elsewhere, env=env).stdout)
    assert kpis, "no KPI rows from the packaged SQL"
    report = json.loads(run([*python, "shoplens.cli", "report", "--json", *ws], cwd=elsewhere, env=env).stdout)
    assert Path(report["report"]).stat().st_size > 10_000


def test_installed_wheel_serves_dashboard_files(installed: Path, tmp_path: Path) -> None:
    """The dashboard's templates and static files from the installed package (the sign-in page, its style)."""
    script = ("import sys; from fastapi.testclient import TestClient; import shoplens as sl; "
              "from shoplens.serve import create_app; ws = sl.Workspace.init(sys.argv[1]); "
              "client = TestClient(create_app(ws.path)); "
              "page, style = client.get('/login'), client.get('/static/style.css'); "
              "print(page.status_code, style.status_code, '<form' in page.text, len(style.text))")
    done = run([sys.executable, "-c", script, str(tmp_path / "ws")], cwd=tmp_path, env=wheel_env(installed))
    page, style, has_form, style_chars = done.stdout.split()
    assert (page, style, has_form) == ("200", "200", "True") and int(style_chars) > 100, done.stdout


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed by its own pip; its dependencies (the extras text,
    forecast, recommend …) are this venv's packages, reached through a plain path entry — not this venv's .pth
    files, so not its editable install of the checkout. Offline: pip never reaches an index."""
    env = tmp_path_factory.mktemp("venv") / "env"
    run([sys.executable, "-m", "venv", str(env)], cwd=env.parent, timeout=300)
    python = env / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=env.parent).stdout.strip()
    (Path(purelib) / "shoplens-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n",
                                                                   encoding="utf-8")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "-q",
         str(wheel)], cwd=env.parent, timeout=300)
    return env


def test_a_new_venv_with_the_wheel_runs_the_demo(venv: Path, tmp_path: Path) -> None:
    """``pip install shoplens-*.whl`` into a new venv, then its ``shoplens`` command: ``--version`` and the whole
    ``shoplens demo`` (every capability on a simulated shop, the report), from a folder with no checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "SHOPLENS_WORKSPACE")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_WAIT_POLICY="PASSIVE")
    shoplens = str(venv / "bin" / "shoplens")
    where = run([str(venv / "bin" / "python"), "-c", "import shoplens; print(shoplens.__file__)"], cwd=tmp_path,
                env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), f"shoplens came from {where}, not the wheel in {venv}"
    assert run([shoplens, "--version"], cwd=tmp_path, env=env).stdout.strip() == f"shoplens {project_version()}"
    done = run([shoplens, "demo", "--workspace", str(tmp_path / "demo"), "--json"], cwd=tmp_path, env=env,
               timeout=1800)
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    assert "error" not in summary, summary.get("error")
    assert all(step["status"] != "failed" for step in summary["steps"]), summary["steps"]
    assert {"orders", "reviews", "events"} <= set(summary["tables"]) and Path(summary["report"]).is_file()
