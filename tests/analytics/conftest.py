"""A tiny shop whose every analysis is checked by hand (see the numbers in the tests), and helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import shoplens as sl

CUSTOMERS = """customer_id,country,city,attributes
C1,DE,Berlin,"{""tier"": ""gold""}"
C2,US,Boston,"{""tier"": ""silver""}"
C3,US,Austin,"{""tier"": ""gold""}"
C4,,,
"""
PRODUCTS = """product_id,title,category,price
P1,Mug,Home > Kitchen,10
P2,Towel,Home > Bath,10
P3,Blocks,Toys > Blocks,15
"""
# O3 is late on 31 January in UTC: 1 February in Berlin. O4 is cancelled; R5 returns a towel of O5.
ORDERS = """order_id,customer_id,order_ts,status,channel,country,total_amount,n_items
O1,C1,2024-01-05 10:00:00,completed,web,DE,30.00,3
O2,C1,2024-01-20 12:00:00,completed,app,DE,15.00,1
O3,C2,2024-01-31 23:30:00,completed,web,US,20.00,2
O4,C2,2024-02-10 09:00:00,cancelled,web,US,50.00,1
O5,C3,2024-02-15 09:00:00,completed,web,US,40.00,4
R5,C3,2024-02-20 09:00:00,returned,web,US,-10.00,-1
O6,C1,2024-03-01 08:00:00,completed,web,DE,12.50,1
O7,C4,2024-03-03 10:00:00,completed,app,,7.50,1
O8,,2024-03-03 11:00:00,completed,web,US,5.00,1
"""
ORDER_ITEMS = """order_id,line_no,product_id,quantity,unit_price,discount
O1,1,P1,1,10,0
O1,2,P2,2,10,0
O2,1,P3,1,15,0
O3,1,P1,2,10,0
O4,1,P3,1,50,0
O5,1,P2,4,10,0
R5,1,P2,-1,10,0
O6,1,P1,1,12.50,0
O7,1,P3,1,7.50,0
O8,1,P1,1,5,0
"""
# Sessions S1–S4 are given; C4's events have none and are split at 35 minutes of inactivity.
EVENTS = """event_id,session_id,customer_id,product_id,event_type,event_ts,properties
E01,S1,C1,P1,view,2024-03-01 07:50:00,"{""device"": ""mobile""}"
E02,S1,C1,P1,add_to_cart,2024-03-01 07:51:00,"{""device"": ""mobile""}"
E03,S1,C1,,checkout,2024-03-01 07:52:00,"{""device"": ""mobile""}"
E04,S1,C1,P1,purchase,2024-03-01 07:53:00,"{""device"": ""mobile""}"
E05,S2,C2,P3,view,2024-03-02 10:00:00,"{""device"": ""desktop""}"
E06,S2,C2,,checkout,2024-03-02 10:00:30,"{""device"": ""desktop""}"
E07,S2,C2,P3,purchase,2024-03-02 10:01:30,"{""device"": ""desktop""}"
E08,S3,C3,P2,add_to_cart,2024-03-02 12:00:00,"{""device"": ""mobile""}"
E09,S3,C3,P2,view,2024-03-02 12:00:10,"{""device"": ""mobile""}"
E10,S4,,P1,view,2024-03-02 13:00:00,"{""device"": ""desktop""}"
E11,S4,,P1,wishlist,2024-03-02 13:00:05,"{""device"": ""desktop""}"
E12,S4,,P1,add_to_cart,2024-03-02 13:00:10,"{""device"": ""desktop""}"
E13,,C4,P3,view,2024-03-03 10:00:00,
E14,,C4,P3,add_to_cart,2024-03-03 10:20:00,
E15,,C4,P3,purchase,2024-03-03 10:55:00,
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def build_tiny_shop(root: Path, timezone: str = "UTC") -> sl.Workspace:
    ws = sl.Workspace.init(root / "ws", timezone=timezone)
    files = root / "files"
    files.mkdir(exist_ok=True)
    for table, text in (("customers", CUSTOMERS), ("products", PRODUCTS), ("orders", ORDERS),
                        ("order_items", ORDER_ITEMS), ("events", EVENTS)):
        report = ws.ingest(table, write(files, f"{table}.csv", text), tz="UTC")
        assert report.quarantined == 0, report.to_dict()
    return ws


@pytest.fixture(scope="session")
def tiny_shop(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """The hand-checked tiny shop in UTC (read-only: tests that write copy it)."""
    return build_tiny_shop(tmp_path_factory.mktemp("tiny_shop"))


def copy_workspace(ws: sl.Workspace, target: Path) -> sl.Workspace:
    """A writable copy of a workspace (the originals of session fixtures stay untouched)."""
    shutil.copytree(ws.path, target, ignore=shutil.ignore_patterns("warehouse.lock"))
    return sl.Workspace.open(target)


def _dataset_workspace(factory: pytest.TempPathFactory, name: str, *parts: str) -> sl.Workspace:
    from shoplens.data.datasets import load_dataset
    from tests.conftest import shared_path

    path = shared_path(*parts)
    ws = sl.Workspace.init(factory.mktemp(name) / "ws")
    load_dataset(parts[0], ws, path)
    return ws


@pytest.fixture(scope="session")
def cdnow_sample(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """CDNOW_sample.txt (2,357 customers) in a workspace (read-only)."""
    return _dataset_workspace(tmp_path_factory, "cdnow_sample", "cdnow", "CDNOW_sample.txt")


@pytest.fixture(scope="session")
def cdnow_master(tmp_path_factory: pytest.TempPathFactory) -> sl.Workspace:
    """CDNOW_master.txt (23,570 customers) in a workspace (read-only)."""
    return _dataset_workspace(tmp_path_factory, "cdnow_master", "cdnow", "CDNOW_master.txt")


def cdnow_purchases(name: str = "CDNOW_master.txt"):
    """The raw CDNOW file read independently of shoplens (for checks computed another way)."""
    import pandas as pd

    from tests.conftest import shared_path

    frame = pd.read_csv(shared_path("cdnow", name), sep=r"\s+", header=None, dtype=str)
    frame = frame.iloc[:, [0, -3, -2, -1]] if frame.shape[1] == 5 else frame
    frame.columns = ["customer_id", "date", "cds", "dollars"]
    frame = frame[frame["customer_id"] != "customer_id"]
    return frame.assign(date=pd.to_datetime(frame["date"]), dollars=frame["dollars"].astype(float))
