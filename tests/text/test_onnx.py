"""The serving export of a fine-tuned classifier: fused graph, per-channel int8, float head, inputs in order.

A MiniLM classifier fine-tuned for a few steps on real women's clothing reviews (fast) stands in for the
benchmark's model; the speed gate itself is measured by benchmarks/reviews.py --part serving."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shoplens.errors import InputError
from shoplens.reviews.tasks import load_task
from shoplens.text.classifier import OnnxClassifier, TransformerClassifier
from shoplens.text.onnx import TokenIds, pad_right, quantize_int8
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def reviews():
    frame = load_task("womens_clothing_5star", shared_path("womens_clothing_reviews"))
    train = frame[frame["split"] == "train"].head(96)
    held_out = frame[frame["split"] == "test"].head(96)
    return train, held_out["text"].tolist()


@pytest.fixture(scope="module")
def tuned(reviews):
    train, _ = reviews
    return TransformerClassifier(batch_size=16, max_steps=6, learning_rate=3e-4, max_length=128).fit(
        train["text"].tolist(), train["label"].to_numpy(), class_names=["1", "2", "3", "4", "5"])


@pytest.fixture(scope="module")
def exports(tuned, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    return {"int8": tuned.export_onnx(folder / "int8"), "float": tuned.export_onnx(folder / "float", quantize=False),
            "folder": folder}


def _graph_ops(path) -> dict[str, int]:
    import onnx

    ops: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return ops


def test_export_is_fused_and_int8_with_a_float_head(exports) -> None:
    card = json.loads((exports["int8"].folder / "classifier.json").read_text(encoding="utf-8"))["export"]
    assert card["method"] == "fused+int8-per-channel" and card["per_channel"] is True
    assert card["fused"]["Attention"] == 6 and card["fused"]["EmbedLayerNormalization"] == 1  # MiniLM: 6 layers
    ops = _graph_ops(exports["int8"].folder / "model.onnx")
    assert ops.get("QAttention") == 6 and "Attention" not in ops  # Q/K/V projections in int8
    assert ops.get("MatMulInteger", 0) == 18  # attention output, intermediate and output dense of 6 layers
    assert ops.get("MatMul") == 1 and "Gemm" not in ops  # the head: a float MatMul + Add after the quantiser
    # layer norms as plain operators (onnxruntime's own kernels are slower): two ReduceMean for each of 12
    assert "SkipLayerNormalization" not in ops and "LayerNormalization" not in ops and ops["ReduceMean"] == 24
    assert card["fused"]["LayerNormalization split"] == 12
    assert not (exports["folder"] / "int8" / "model.float.onnx").exists()


def test_fused_float_graph_matches_pytorch_alone_and_in_padded_batches(exports, tuned, reviews) -> None:
    texts = reviews[1][:24]
    reference = tuned.predict_logits(texts)
    fused = exports["float"]
    assert _graph_ops(fused.folder / "model.onnx").get("Attention") == 6
    np.testing.assert_allclose(fused.predict_logits(texts, batch_size=8), reference, atol=2e-4)
    alone = np.vstack([fused.predict_logits([t]) for t in texts[:6]])
    np.testing.assert_allclose(alone, reference[:6], atol=2e-4)  # padding to a batch's longest changes nothing


def test_int8_is_closer_to_pytorch_than_the_per_tensor_unfused_export(exports, tuned, reviews, tmp_path) -> None:
    texts = reviews[1]
    reference = tuned.predict_logits(texts)
    ours = exports["int8"].predict_logits(texts)
    # the earlier method: the unfused graph, one scale per weight matrix, head and attention scores int8 too
    from shoplens.text.onnx import eager_attention, export_onnx, token_axes

    example = tuned.tokenizer_(["an example", "another example text"], padding=True, return_tensors="pt")
    plain = tmp_path / "old" / "model.float.onnx"
    with eager_attention(tuned.net_.base):
        export_onnx(tuned.net_, (example["input_ids"], example["attention_mask"]), plain,
                    input_names=["input_ids", "attention_mask"], output_names=["logits"],
                    dynamic_axes=token_axes("logits"))
    quantize_int8(plain, tmp_path / "old" / "model.onnx")
    plain.unlink()
    for name in ("tokenizer.json", "tokenizer_config.json", "classifier.json"):
        (tmp_path / "old" / name).write_bytes((exports["int8"].folder / name).read_bytes())
    old = OnnxClassifier.load(tmp_path / "old").predict_logits(texts)
    ours_error, old_error = np.abs(ours - reference).mean(), np.abs(old - reference).mean()
    assert ours_error < 0.75 * old_error, (ours_error, old_error)
    assert (ours.argmax(1) == reference.argmax(1)).mean() >= 0.95


def test_outputs_follow_the_input_order(exports) -> None:
    texts = ["Lovely.", "The dress ran two sizes small and the seams came apart after one wash, so it went back.",
             "Great color, soft fabric, fits true to size."]
    model = exports["float"]
    forward = model.predict_logits(texts)
    backward = model.predict_logits(texts[::-1])
    np.testing.assert_allclose(backward[::-1], forward, atol=2e-4)
    assert not np.allclose(forward[0], forward[1], atol=1e-2)  # the texts do differ


def test_saved_export_loads_with_identical_logits(exports, reviews, tmp_path) -> None:
    texts = reviews[1][:10]
    copy = exports["int8"].save(tmp_path / "copy")
    again = OnnxClassifier.load(copy)
    np.testing.assert_array_equal(again.predict_logits(texts), exports["int8"].predict_logits(texts))


def test_batches_side_by_side_give_the_logits_of_one_batch_at_a_time(exports, reviews) -> None:
    """Length-sorted batches run on several threads at once: every row in input order, the same bits as one
    batch after another (and, in float, what each text alone gives)."""
    model, texts = exports["int8"], reviews[1]
    runner = model.runner
    assert runner.session.get_session_options().intra_op_num_threads == 1
    workers = runner.workers
    try:
        runner.workers = 3  # threads even on a one-core machine
        side_by_side = model.predict_logits(texts, batch_size=8)  # 12 batches
        runner.workers = 1
        one_at_a_time = model.predict_logits(texts, batch_size=8)
    finally:
        runner.workers = workers
    np.testing.assert_array_equal(side_by_side, one_at_a_time)
    float_model = exports["float"]  # the float graph: each text alone gives its row of the batched call
    alone = np.vstack([float_model.predict_logits([t]) for t in texts[:5]])
    np.testing.assert_allclose(float_model.predict_logits(texts, batch_size=8)[:5], alone, atol=2e-4)
    assert np.ptp(side_by_side, axis=0).min() > 0.05  # the rows differ: not one row copied everywhere


def test_truncation_for_serving_is_saved_and_bounded(exports, reviews, tmp_path) -> None:
    texts = [t for t in reviews[1] if len(t.split()) > 40][:6]
    model = OnnxClassifier.load(exports["int8"].save(tmp_path / "copy"))
    full = model.predict_logits(texts)
    model.truncate_to(16)
    short = model.predict_logits(texts)
    assert not np.allclose(short, full, atol=1e-3)  # long texts are read in part only
    again = OnnxClassifier.load(tmp_path / "copy")
    assert again.max_length == 16
    np.testing.assert_array_equal(again.predict_logits(texts), short)
    cut = [model.tokenizer_.decode(model.tokenizer_(t, truncation=True, max_length=16)["input_ids"],
                                   skip_special_tokens=True) for t in texts]
    np.testing.assert_allclose(short, model.predict_logits(cut), atol=0.05)  # what 16 tokens of each hold
    again.truncate_to(128)  # back to the trained length
    np.testing.assert_array_equal(again.predict_logits(texts), full)
    for bad in (0, 129):
        with pytest.raises(InputError, match="max_length must be 1 … 128"):
            model.truncate_to(bad)


def test_pad_right_and_bad_input(exports) -> None:
    ids, mask = pad_right([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert ids.dtype == np.int64 and mask.dtype == np.int64
    assert exports["int8"].predict_logits([]).shape == (0, 5)
    with pytest.raises(InputError, match="not one string"):
        exports["int8"].predict("one review")
    with pytest.raises(InputError, match=r"texts\[1\] is float"):
        exports["int8"].predict_logits(["fine", 2.5])


def test_token_ids_match_the_tokenizer_call(tuned, reviews) -> None:
    texts = [*reviews[1][:40], "", "   ", "Größe passt 👍 — très jolie", "word " * 400]
    expected = tuned.tokenizer_(texts, truncation=True, max_length=128)["input_ids"]
    fast = TokenIds(tuned.tokenizer_, 128)
    assert fast.backend is not None and fast(texts) == expected
    assert max(len(x) for x in fast(texts)) == 128
    assert tuned.tokenizer_("word " * 400)["input_ids"].__len__() > 128  # our copy's truncation left theirs alone


@pytest.mark.parametrize("opset", [17, 18])
def test_split_layer_norms_keeps_the_arithmetic(opset: int) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from shoplens.text.onnx import split_layer_norms

    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(3, 5, 8)).astype(np.float32)
    scale, bias = rng.normal(size=8).astype(np.float32), rng.normal(size=8).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["y"], axis=-1, epsilon=1e-6),
         helper.make_node("LayerNormalization", ["y", "scale"], ["z"], axis=-1),  # no bias, default epsilon
         helper.make_node("LayerNormalization", ["z", "scale"], ["w"], axis=1)],  # not the last axis: kept
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5, 8])],
        [helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 5, 8])],
        [numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    import onnxruntime as ort

    def run(m: onnx.ModelProto) -> np.ndarray:
        return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    expected = run(model)
    assert split_layer_norms(model) == 2
    onnx.checker.check_model(model)
    kinds = [node.op_type for node in model.graph.node]
    assert kinds.count("LayerNormalization") == 1 and kinds.count("ReduceMean") == 4
    np.testing.assert_allclose(run(model), expected, atol=1e-5)


def test_query_encoder_is_the_same_model_in_onnx_exported_once(tmp_path, monkeypatch) -> None:
    from shoplens.text import load_encoder
    from shoplens.text.onnx import OnnxEncoder, query_encoder

    monkeypatch.setenv("SHOPLENS_MODEL_CACHE", str(tmp_path / "cache"))
    torch_encoder = load_encoder("minilm")
    fast = query_encoder(torch_encoder)
    assert isinstance(fast, OnnxEncoder)
    texts = ["red dress under 50", "50元以下的红色连衣裙", "does this blender crush ice?"]
    agreement = np.sum(fast.encode(texts) * torch_encoder.encode(texts), axis=1)
    assert agreement.min() > 0.9999
    (exported,) = (tmp_path / "cache" / "onnx-query").iterdir()
    stamp = (exported / "model.onnx").stat().st_mtime_ns
    again = query_encoder(load_encoder("minilm"))
    assert again.folder == exported and (exported / "model.onnx").stat().st_mtime_ns == stamp  # not re-exported
    assert query_encoder(fast) is fast  # an ONNX encoder is already fast
