"""API keys: roles ``read`` < ``write`` < ``admin``, stored as salted scrypt hashes.

A key looks like ``sl_<id>_<secret>``: the ``id`` (8 hex digits) finds the stored record, the secret
(43 URL-safe characters, 256 bits) is checked against its salted scrypt hash. The plaintext is returned
once, by :func:`create_key`, and never stored. Keys live in ``<workspace>/secrets/api_keys.json``
(mode 600, in a folder of mode 700), outside the warehouse::

    {"version": 1, "keys": [{"id": "3f9c0a1b", "name": "ci", "role": "write",
      "created_at": "2026-01-01T10:00:00+00:00", "kdf": {"name": "scrypt", "n": 16384, "r": 8, "p": 1},
      "salt": "<hex>", "hash": "<hex>"}]}
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shoplens.errors import InputError, NotFound, WorkspaceError
from shoplens.workspace import Workspace

KEY_PREFIX = "sl"
KEYS_FILE = "api_keys.json"
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MAX_NAME_LENGTH = 100
MAX_SECRET_LENGTH = 128  # longer texts are not keys; never hash them


class Role(enum.IntEnum):
    """What a key may do; a higher role includes the lower ones."""

    read = 1  # anything that returns shop data
    write = 2  # anything that writes (ingest)
    admin = 3  # everything

    @classmethod
    def parse(cls, value: str | Role) -> Role:
        if isinstance(value, Role):
            return value
        try:
            return cls[str(value).strip().lower()]
        except KeyError:
            raise InputError(f"unknown role {value!r}; roles are: {', '.join(r.name for r in cls)}") from None


@dataclass(frozen=True)
class KeyInfo:
    """A stored key without its secret (what :func:`list_keys` returns)."""

    id: str
    name: str
    role: Role
    created_at: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role.name, "created_at": self.created_at}


def _hash(secret: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=params["n"], r=params["r"], p=params["p"],
                          maxmem=64 * 1024 * 1024, dklen=32)


def split_key(key: str) -> tuple[str, str] | None:
    """``sl_<id>_<secret>`` → ``(id, secret)``; None when the text is not shaped like a key."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8 or not 0 < len(parts[2]) <= MAX_SECRET_LENGTH:
        return None
    return parts[1], parts[2]


class KeyStore:
    """The key file of one workspace; verified keys are remembered until the file changes."""

    def __init__(self, workspace_path: str | os.PathLike) -> None:
        self.folder = Path(workspace_path) / "secrets"
        self.file = self.folder / KEYS_FILE
        self._cache_lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        self._signature: tuple[int, int, int] | None = None
        self._verified: dict[bytes, str] = {}  # sha256(key) -> key id, cleared when the file changes

    # -- reading --------------------------------------------------------------------------------------
    def _file_signature(self) -> tuple[int, int, int] | None:
        try:
            stat = self.file.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _read_file(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise WorkspaceError(f"{self.file}: cannot read the API keys ({exc})") from None
        return {record["id"]: record for record in data.get("keys", [])}

    def records(self) -> dict[str, dict[str, Any]]:
        """The stored records by key id, re-read whenever the file changed (a key created or revoked)."""
        with self._cache_lock:
            signature = self._file_signature()
            if signature != self._signature:
                self._records = self._read_file()
                self._signature = signature
                self._verified.clear()
            return self._records

    def info(self, key_id: str) -> KeyInfo | None:
        record = self.records().get(key_id)
        return _info(record) if record else None

    def remembered(self, key: str) -> KeyInfo | None:
        """The key's record when ``key`` was verified already and the key file has not changed since (no hash
        computed: cheap enough for the event loop); None when it must be verified (:meth:`verify`)."""
        parts = split_key(key)
        if parts is None:
            return None
        record = self.records().get(parts[0])
        if record is None:
            return None
        digest = hashlib.sha256(key.strip().encode("utf-8")).digest()
        with self._cache_lock:
            known = self._verified.get(digest) == parts[0]
        return _info(record) if known else None

    def verify(self, key: str) -> KeyInfo | None:
        """The key's record when ``key`` is a valid, unrevoked key; otherwise None."""
        remembered = self.remembered(key)
        if remembered is not None:
            return remembered
        parts = split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        record = self.records().get(key_id)
        if record is None:
            return None
        digest = hashlib.sha256(key.strip().encode("utf-8")).digest()
        expected = bytes.fromhex(record["hash"])
        actual = _hash(secret, bytes.fromhex(record["salt"]), record.get("kdf", SCRYPT))
        if not hmac.compare_digest(expected, actual):
            return None
        with self._cache_lock:
            if len(self._verified) > 1024:
                self._verified.clear()
            self._verified[digest] = key_id
        return _info(record)

    # -- writing --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Read-modify-write the key file under an exclusive lock; written atomically with mode 600."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        with open(self.folder / "api_keys.lock", "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                records = self._read_file()
                yield records
                self._write_file(records)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write_file(self, records: dict[str, dict[str, Any]]) -> None:
        text = json.dumps({"version": 1, "keys": list(records.values())}, indent=2) + "\n"
        staging = self.file.with_name(f".{KEYS_FILE}.{secrets.token_hex(4)}")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(staging, self.file)
        finally:
            staging.unlink(missing_ok=True)

    def create(self, role: str | Role, name: str) -> str:
        role = Role.parse(role)
        name = _check_name(name)
        key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        record = {"id": key_id, "name": name, "role": role.name,
                  "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "kdf": {"name": "scrypt", **SCRYPT}, "salt": salt.hex(), "hash": _hash(secret, salt, SCRYPT).hex()}
        with self._locked() as records:
            while key_id in records:  # 1 in 4 billion; never reuse an id
                key_id = record["id"] = secrets.token_hex(4)
            records[key_id] = record
        return f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str) -> KeyInfo:
        key_id = key_id.strip()
        parts = split_key(key_id)
        if parts:  # the whole key was given
            key_id = parts[0]
        with self._locked() as records:
            record = records.pop(key_id, None)
            if record is None:
                raise NotFound(f"no API key {key_id!r}; list them with `shoplens keys list`")
        return _info(record)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise InputError(f"a key name must be 1 to {MAX_NAME_LENGTH} printable characters")
    return name


def _info(record: dict[str, Any]) -> KeyInfo:
    return KeyInfo(id=record["id"], name=record["name"], role=Role[record["role"]], created_at=record["created_at"])


def _store(ws: Workspace | str | os.PathLike) -> KeyStore:
    path = ws.path if isinstance(ws, Workspace) else Workspace.open(ws).path
    return KeyStore(path)


def create_key(ws: Workspace | str | os.PathLike, role: str | Role, name: str) -> str:
    """Create a key with ``role`` (read, write, admin) and return its plaintext: shown once, stored hashed."""
    return _store(ws).create(role, name)


def list_keys(ws: Workspace | str | os.PathLike) -> list[KeyInfo]:
    """The workspace's keys (id, name, role, created time), oldest first; never a secret."""
    records = _store(ws).records().values()
    return sorted((_info(r) for r in records), key=lambda k: k.created_at)  # stable: file order within a second


def revoke_key(ws: Workspace | str | os.PathLike, key_id: str) -> KeyInfo:
    """Delete a key (by id or by the whole key); a running service refuses it from the next request."""
    return _store(ws).revoke(key_id)
