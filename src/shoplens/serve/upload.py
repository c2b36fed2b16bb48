"""Streaming multipart upload: the file part goes straight to a file in the workspace's ``tmp/``.

Bytes are counted as they arrive and the upload stops with 413 as soon as the file part exceeds the
limit (a Content-Length header is not trusted). The other parts are small text fields, limited too.
The file is written under ``tmp/upload-<random>/<sanitized name>``, so format detection sees the
uploaded name's extension and messages name the uploaded file.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from shoplens.errors import InputError

FILE_FIELD = "file"
DEFAULT_NAME = "upload.csv"
MAX_NAME_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadTooLarge(InputError):
    """The uploaded file is larger than the service accepts (→ 413)."""


class UnsupportedMediaType(InputError):
    """The request body is not multipart/form-data (→ 415)."""


@dataclass
class Upload:
    """A received upload: the file on disk, the name the client gave it, and the text fields."""

    path: Path
    filename: str
    size: int = 0
    fields: dict[str, list[str]] = field(default_factory=dict)


def safe_filename(name: str | None) -> str:
    """The last path component of ``name`` with only ``A-Z a-z 0-9 . _ -`` (never empty, hidden or ``..``)."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")
    if len(cleaned) > MAX_NAME_LENGTH:  # keep the extensions: they tell the format
        suffix = "".join(Path(cleaned).suffixes)[-20:]
        cleaned = cleaned[:MAX_NAME_LENGTH - len(suffix)] + suffix
    return cleaned or DEFAULT_NAME


@contextlib.contextmanager
def upload_folder(tmp_dir: Path) -> Iterator[Path]:
    """A fresh folder under the workspace's ``tmp/``, removed with everything in it afterwards."""
    folder = tmp_dir / f"upload-{secrets.token_hex(8)}"
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Receiver:
    """Callbacks for python-multipart's push parser."""

    def __init__(self, folder: Path, max_file_bytes: int, max_field_bytes: int, max_fields: int) -> None:
        self.folder = folder
        self.max_file_bytes, self.max_field_bytes, self.max_fields = max_file_bytes, max_field_bytes, max_fields
        self.upload: Upload | None = None
        self.fields: dict[str, list[str]] = {}
        self.n_fields = 0
        self.finished = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part_name = ""
        self._text = bytearray()
        self._file: IO[bytes] | None = None

    def callbacks(self) -> dict:
        return {"on_part_begin": self.on_part_begin, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished, "on_end": self.on_end}

    def on_part_begin(self) -> None:
        self._disposition, self._part_name, self._text = b"", "", bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise InputError('a multipart part has no name (Content-Disposition: form-data; name="...")')
        self._part_name = options[b"name"].decode("utf-8", errors="replace")
        if self._part_name == FILE_FIELD:
            self._open_file(options.get(b"filename"))
        else:
            self.n_fields += 1
            if self.n_fields > self.max_fields:
                raise InputError(f"too many form fields (at most {self.max_fields})")

    def _open_file(self, raw_name: bytes | None) -> None:
        if self.upload is not None:
            raise InputError(f"send one file per upload (the form has more than one {FILE_FIELD!r} part)")
        name = safe_filename(raw_name.decode("utf-8", errors="replace") if raw_name else None)
        self.upload = Upload(path=self.folder / name, filename=name)
        self._file = open(self.upload.path, "wb")  # noqa: SIM115 - closed in on_part_end or close()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None and self.upload is not None:
            self.upload.size += end - start
            if self.upload.size > self.max_file_bytes:
                raise UploadTooLarge(f"the upload is larger than the limit of {self.max_file_bytes:,} bytes")
            self._file.write(data[start:end])
            return
        self._text += data[start:end]
        if len(self._text) > self.max_field_bytes:
            raise InputError(f"form field {self._part_name!r} is longer than {self.max_field_bytes:,} bytes")

    def on_part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            return
        try:
            text = self._text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"form field {self._part_name!r} is not UTF-8 text") from None
        self.fields.setdefault(self._part_name, []).append(text)

    def on_end(self) -> None:
        self.finished = True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _boundary(content_type: str | None) -> bytes:
    media_type, options = parse_options_header(content_type or "")
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            f"send the file as multipart/form-data (a {FILE_FIELD!r} part), not {content_type or 'no content type'}")
    boundary = options.get(b"boundary")
    if not boundary:
        raise InputError("the multipart/form-data content type has no boundary")
    return boundary


async def receive_upload(request: Request, folder: Path, *, max_file_bytes: int, max_field_bytes: int,
                         max_fields: int) -> Upload:
    """Stream the request's multipart body; the file part is written to ``folder``."""
    receiver = _Receiver(folder, max_file_bytes, max_field_bytes, max_fields)
    parser = MultipartParser(_boundary(request.headers.get("content-type")), receiver.callbacks())
    try:
        await _feed(parser, request.stream())
    except FormParserError as exc:
        raise InputError(f"the multipart body is malformed ({exc})") from None
    finally:
        receiver.close()
    if not receiver.finished:
        raise InputError("the multipart body ended before its closing boundary (a truncated upload?)")
    if receiver.upload is None:
        raise InputError(f"the form has no file; send it as the {FILE_FIELD!r} part")
    receiver.upload.fields = receiver.fields
    return receiver.upload


async def _feed(parser: MultipartParser, chunks: AsyncIterator[bytes]) -> None:
    async for chunk in chunks:
        if chunk:
            parser.write(chunk)
    parser.finalize()
