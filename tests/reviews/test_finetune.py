"""Fine-tuning on real reviews (small): learns in one epoch, saves and loads exactly, exports to int8 ONNX."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from shoplens.errors import InputError, NotFound
from shoplens.reviews.tasks import load_task
from shoplens.text.classifier import OnnxClassifier, TransformerClassifier
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def reviews():
    frame = load_task("womens_clothing_binary", shared_path("womens_clothing_reviews"))
    train = frame[frame["split"] == "train"].head(300)
    held_out = frame[frame["split"] == "test"].head(200)
    return train, held_out


@pytest.fixture(scope="module")
def tuned(reviews):
    train, _ = reviews
    return TransformerClassifier(epochs=1, batch_size=8, learning_rate=2e-4, class_weight="balanced",
                                 max_length=96).fit(train["text"].tolist(), train["label"].to_numpy(),
                                                    class_names=["negative", "positive"])


def test_one_epoch_on_300_reviews_beats_the_majority_class(tuned, reviews) -> None:
    _, held_out = reviews
    predicted = tuned.predict(held_out["text"].tolist())
    majority = np.full(len(held_out), np.bincount(reviews[0]["label"]).argmax())
    ours = f1_score(held_out["label"], predicted, average="macro")
    baseline = f1_score(held_out["label"], majority, average="macro")
    assert ours > baseline + 0.03, (ours, baseline)
    assert tuned.steps_ == 38 and tuned.curves_["train"]  # one epoch of 300 in batches of 8, curve logged


def test_save_load_gives_identical_predictions(tuned, reviews, tmp_path) -> None:
    texts = reviews[1]["text"].tolist()[:40]
    tuned.save(tmp_path / "model")
    loaded = TransformerClassifier.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_logits(texts), tuned.predict_logits(texts))
    assert loaded.class_names_ == ["negative", "positive"]
    assert (tmp_path / "model" / "curves.json").exists() and any((tmp_path / "model" / "tensorboard").iterdir())


def test_int8_onnx_export_agrees(tuned, reviews, tmp_path) -> None:
    texts = reviews[1]["text"].tolist()[:80]
    onnx = tuned.export_onnx(tmp_path / "onnx")
    assert isinstance(onnx, OnnxClassifier)
    agreement = (onnx.predict(texts) == tuned.predict(texts)).mean()
    assert agreement >= 0.9
    again = OnnxClassifier.load(tmp_path / "onnx")
    np.testing.assert_array_equal(again.predict_logits(texts[:5]), onnx.predict_logits(texts[:5]))


def test_errors_name_the_problem(tuned) -> None:
    with pytest.raises(InputError, match="3 texts but 2 labels"):
        TransformerClassifier().fit(["a", "b", "c"], [0, 1])
    with pytest.raises(InputError, match="not one string"):
        tuned.predict("one review")
    with pytest.raises(NotFound, match="not trained"):
        TransformerClassifier().predict(["x"])


def test_trainable_layers_moves_only_the_top_layers(reviews) -> None:
    """trainable_layers=1: the last transformer layer and the head learn, every other weight stays pretrained."""
    from shoplens.text import load_encoder

    train, _ = reviews
    model = TransformerClassifier(trainable_layers=1, max_steps=4, batch_size=8, learning_rate=1e-3,
                                  max_length=64).fit(train["text"].tolist()[:64], train["label"].to_numpy()[:64])
    pretrained = dict(load_encoder("minilm").model.named_parameters())
    changed = {name for name, weight in model.net_.base.named_parameters()
               if not np.allclose(weight.detach().numpy(), pretrained[name].detach().numpy())}
    last = len(model.net_.base.encoder.layer) - 1
    assert changed and all(name.startswith(f"encoder.layer.{last}.") for name in changed), sorted(changed)
    with pytest.raises(InputError, match="trainable_layers 7 must be 1 … 6"):
        TransformerClassifier(trainable_layers=7).fit(["a", "b"], [0, 1])
