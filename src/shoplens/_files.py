"""Folders and files written whole: built next to their place and renamed into it, so a reader sees the old one or
the new one, never a half-written one, and a failure leaves what was there."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def replace_folder(target: Path, fill: Callable[[Path], None]) -> Path:
    """``fill(staging)`` writes the new folder's files into a staging folder beside ``target``, which then takes
    ``target``'s place (an existing ``target`` is moved aside first and removed after); returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fill(staging)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def replace_file(target: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to a file beside ``target`` and rename it into place: a reader sees the old content
    or the new, never a half-written file; returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(text, encoding="utf-8")
        staging.replace(target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target
