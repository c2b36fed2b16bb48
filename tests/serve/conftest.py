"""Fixtures of the service tests: a real workspace with real data, real keys and the real app."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

import shoplens as sl
from shoplens.serve import ServiceSettings, create_app, create_key

ORDERS_CSV = """order_id,customer_id,order_ts,status,total_amount
O1,C1,2024-01-05 10:00:00,paid,10.50
O2,C2,2024-01-06 11:30:00,paid,20.00
O3,C1,2024-01-07 09:15:00,refunded,5.25
O4,C3,2024-01-08 09:15:00,paid,lots
,C3,2024-01-08 09:15:00,paid,3
"""
ORDERS_READ, ORDERS_LOADED, ORDERS_QUARANTINED = 5, 3, 2
AMOUNT_REASON = 'total_amount: not an amount "lots"'

PRODUCTS_CSV = """product_id;title;price;category
P1;Blue mug;4.50;Kitchen > Mugs
P2;Red mug;4.75;Kitchen > Mugs
"""


@dataclass(frozen=True)
class Keys:
    read: str
    write: str
    admin: str


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def write_file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> sl.Workspace:
    return sl.Workspace.init(tmp_path / "ws", name="test shop")


@pytest.fixture
def keys(ws: sl.Workspace) -> Keys:
    return Keys(read=create_key(ws, "read", "reader"), write=create_key(ws, "write", "writer"),
                admin=create_key(ws, "admin", "admin"))


@pytest.fixture
def shop(ws: sl.Workspace, tmp_path: Path) -> sl.Workspace:
    """The workspace with a few products and orders (two orders quarantined)."""
    ws.ingest("products", write_file(tmp_path, "products.csv", PRODUCTS_CSV))
    ws.ingest("orders", write_file(tmp_path, "orders.csv", ORDERS_CSV))
    return ws


def make_client(ws: sl.Workspace, **settings: int) -> TestClient:
    return TestClient(create_app(ws.path, settings=ServiceSettings(**settings)), follow_redirects=False)


@pytest.fixture
def client(ws: sl.Workspace) -> Iterator[TestClient]:
    with make_client(ws) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (a free port) in a background thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def child_env() -> dict[str, str]:
    """The environment of a child Python process that imports this checkout's shoplens."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


@contextlib.contextmanager
def service_process(command: Callable[[int], list[str]], **popen: Any) -> Iterator[tuple[subprocess.Popen, str]]:
    """A service started as its own process by ``command(port)`` on a free port (``popen``: more arguments of
    ``subprocess.Popen``; the environment defaults to :func:`child_env`); yields the process and its base URL
    once ``/healthz`` answers, and terminates it at the end if it still runs."""
    port = free_port()
    process = subprocess.Popen(command(port), **{"env": child_env(), **popen})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "the service did not start"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)
