"""docs/graph-links.md opens with an example that runs as written (in a temporary folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import shared_path

DOC = Path(__file__).resolve().parents[2] / "docs" / "graph-links.md"


def test_the_opening_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code, "docs/graph-links.md lost its example"
    source = code.group(1).replace('"../shared/data/amazon_giftcards"', repr(str(shared_path("amazon_giftcards"))))
    monkeypatch.chdir(tmp_path)
    exec(compile(source, str(DOC), "exec"), {})
    out = capsys.readouterr().out
    mrr = [float(m) for m in re.findall(r"'mrr': ([0-9.]+)", out)]
    assert len(mrr) == 2 and mrr[0] > mrr[1] > 0.2, out  # ours above co-occurrence, as the comment says
    assert "product_id" in out and "score" in out
