"""The shop's own search encoder: MiniLM fine-tuned on its (query, product) pairs, kept only where it pays.

```python
from shoplens.search import SearchEncoder

model = SearchEncoder(seconds=300).fit(ws)   # pairs from qa, search events and review titles
model.validation_                            # MRR@10 of off-the-shelf and fine-tuned on held-out products
model.register(ws, deploy=True)              # models/search-encoder/<version>/ (encoder/, validation.json)
```

Products are split by a hash of their id: one in five is a validation product (its pairs never train). A pair's
positive text is its product's document as the dense index reads it (:func:`shoplens.search.documents.dense_texts`);
each pair gets one hard negative, another product's document that the off-the-shelf encoder ranks high. After
training, both encoders rank every product for each validation query; ``beats_base_`` is true when the fine-tuned
MRR@10 is higher. :class:`shoplens.search.Search` uses the deployed version only then.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from shoplens._files import replace_folder
from shoplens.base import Estimator
from shoplens.errors import InputError, NotFound
from shoplens.search.fusion import known_item_metrics

REGISTRY_NAME = "search-encoder"
VALIDATION_FILE = "validation.json"
ENCODER_DIR = "encoder"
MIN_PAIRS = 20


def is_validation_product(product_id: str, share: int = 5) -> bool:
    return int(hashlib.sha256(("val:" + str(product_id)).encode()).hexdigest(), 16) % share == 0


def beats_base(folder: Path) -> bool:
    """Whether the saved encoder in ``folder`` beat off-the-shelf on its validation products."""
    path = Path(folder) / VALIDATION_FILE
    return path.exists() and bool(json.loads(path.read_text(encoding="utf-8")).get("beats_base"))


@dataclass(eq=False, repr=False)
class SearchEncoder(Estimator):
    registry_name: ClassVar[str] = REGISTRY_NAME
    capability: ClassVar[str] = "search"

    base: str = "minilm"
    _: KW_ONLY
    seconds: float = 600.0  # CPU budget of the fine-tuning itself
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 128
    seed: int = 0

    def fit(self, data: Any) -> SearchEncoder:
        """Fine-tune on a workspace's (query, product) pairs and compare with off-the-shelf on held-out products."""
        from shoplens.search.documents import dense_texts, product_documents
        from shoplens.search.finetune import fine_tune, mine_hard_negatives, training_pairs
        from shoplens.text import load_encoder

        pairs, documents = training_pairs(data), product_documents(data)
        texts = dict(zip(documents["product_id"].astype(str), dense_texts(documents), strict=True))
        pairs = pairs[pairs["product_id"].isin(texts)].reset_index(drop=True)
        held = pairs["product_id"].map(is_validation_product).to_numpy()
        train, val = pairs[~held].reset_index(drop=True), pairs[held].reset_index(drop=True)
        if len(train) < MIN_PAIRS or len(val) < 5:
            raise InputError(f"fine-tuning the search encoder needs at least {MIN_PAIRS} training and 5 validation "
                             f"(query, product) pairs from qa, search events or review titles; found {len(train)} "
                             f"and {len(val)}")
        base = load_encoder(self.base)
        product_ids = list(texts)
        doc_vectors = base.encode([texts[p] for p in product_ids], workspace=data)
        query_vectors = base.encode(train["query"].tolist(), workspace=data)
        row = {p: i for i, p in enumerate(product_ids)}
        negatives = mine_hard_negatives(query_vectors, train["product_id"].map(row).to_numpy(), doc_vectors,
                                        np.arange(len(product_ids)), seed=self.seed)
        self._tmp = tempfile.mkdtemp(prefix="shoplens-search-encoder-")
        folder = fine_tune(train["query"].tolist(), [texts[p] for p in train["product_id"]],
                           groups=train["product_id"].tolist(),
                           negatives=[texts[product_ids[n]] if n >= 0 else None for n in negatives],
                           base=self.base, out=Path(self._tmp) / ENCODER_DIR, epochs=self.epochs,
                           batch_size=self.batch_size, learning_rate=self.learning_rate, max_length=self.max_length,
                           seed=self.seed, max_seconds=self.seconds)
        tuned = load_encoder(folder)
        targets = val["product_id"].map(row).to_numpy()
        base_mrr = _mrr(base.encode(val["query"].tolist()), doc_vectors, targets)
        tuned_mrr = _mrr(tuned.encode(val["query"].tolist()), tuned.encode([texts[p] for p in product_ids]), targets)
        self.folder_ = folder
        self.validation_ = {"off_the_shelf_mrr@10": round(base_mrr, 4), "finetuned_mrr@10": round(tuned_mrr, 4),
                            "beats_base": tuned_mrr > base_mrr, "validation_pairs": len(val),
                            "training_pairs": len(train), "sources": pairs["source"].value_counts().to_dict()}
        self.beats_base_ = bool(tuned_mrr > base_mrr)
        return self

    def save(self, path: str | Path) -> Path:
        if not hasattr(self, "folder_"):
            raise InputError("this SearchEncoder is not fitted")

        def fill(staging: Path) -> None:
            shutil.copytree(self.folder_, staging / ENCODER_DIR)
            (staging / VALIDATION_FILE).write_text(json.dumps(self.validation_, indent=2, default=str),
                                                   encoding="utf-8")
            (staging / "params.json").write_text(json.dumps(self.card_params(), indent=2), encoding="utf-8")

        return replace_folder(Path(path), fill)

    @classmethod
    def load(cls, path: str | Path) -> SearchEncoder:
        folder = Path(path)
        if not (folder / ENCODER_DIR).is_dir():
            raise NotFound(f"no fine-tuned search encoder in {folder}")
        model = cls.from_saved_params(json.loads((folder / "params.json").read_text(encoding="utf-8")))
        model.folder_ = folder / ENCODER_DIR
        model.validation_ = json.loads((folder / VALIDATION_FILE).read_text(encoding="utf-8"))
        model.beats_base_ = bool(model.validation_.get("beats_base"))
        return model

    def evaluate(self, data: Any, *, dataset: str | None = None, **protocol: Any) -> list[Any]:
        """The validation comparison as benchmark records (fine-tuned beside off-the-shelf)."""
        from shoplens.evaluation.records import BenchmarkRecord, Protocol, workspace_dataset

        if not hasattr(self, "validation_"):
            raise InputError("this SearchEncoder is not fitted")
        name = dataset or workspace_dataset(data, "search_encoder")
        notes = (f"(query, product) pairs of the workspace; products with sha256('val:'+id) % 5 == 0 held out "
                 f"({self.validation_['validation_pairs']} validation pairs); query → product document, full ranking")
        proto = Protocol(split="random", ratio=[0.8, 0.2], seed=self.seed, candidates="full", k=10, notes=notes)
        return [BenchmarkRecord.create(benchmark="search", dataset=name, model=model, role=role, protocol=proto,
                                       metrics={"mrr@10": self.validation_[key]})
                for model, role, key in (("minilm", "baseline", "off_the_shelf_mrr@10"),
                                         ("minilm-finetuned", "ours", "finetuned_mrr@10"))]


def _mrr(queries: np.ndarray, documents: np.ndarray, targets: np.ndarray) -> float:
    return known_item_metrics(queries @ documents.T, targets, 10)["mrr@10"]

