"""Self-training on a shop's own unlabeled reviews (``ReviewClassifier.adapt``), on real Chinese reviews: a model
trained on other categories of online_shopping_10_cats learns the held-out category's words from its unlabeled
reviews, re-blends and re-tunes its decoding; a blend after a partial refit equals a full one; bad calls say what
is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError, NotFound
from shoplens.reviews.linear import StackedClassifier, TfidfLogReg
from shoplens.reviews.models import SentimentModel
from shoplens.reviews.tasks import leave_one_category_out, load_categories
from tests.conftest import shared_path

HELD_OUT = "books"


@pytest.fixture(scope="module")
def fold() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(labelled source: other categories' train and validation rows, the books' unlabeled train texts, the books'
    test rows), subsampled."""
    frame = load_categories(shared_path("online_shopping_10_cats"))
    source, target = leave_one_category_out(frame, HELD_OUT)
    source = pd.concat([source[source["split"] == "train"].sample(1500, random_state=0),
                        source[source["split"] == "validation"].sample(400, random_state=0)])
    unlabeled = frame[(frame["category"] == HELD_OUT) & (frame["split"] == "train")].sample(800, random_state=0)
    return (source.assign(language="zh"), unlabeled[["text"]].assign(language="zh"),
            target.sample(300, random_state=0))


def test_adapting_learns_the_target_words_and_retunes(fold: tuple[pd.DataFrame, ...]) -> None:
    source, unlabeled, test = fold
    plain = SentimentModel(chinese_method="tfidf").fit(source)
    adapted = SentimentModel(chinese_method="tfidf").fit(source, adapt_on=unlabeled)
    before, after = plain.models_["zh"].vectorizer_.vocabulary_, adapted.models_["zh"].vectorizer_.vocabulary_
    assert len(set(after) - set(before)) > 100  # the books' own n-grams, seen only in the unlabeled texts
    info = adapted.adapted_["zh"]
    assert 0 < info["pseudo_labelled"] < info["unlabeled"] == len(unlabeled)
    assert info["threshold"] == adapted.adapt_threshold
    texts = test["text"].tolist()
    changed = plain.predict_index(texts, ["zh"] * len(texts)) != adapted.predict_index(texts, ["zh"] * len(texts))
    assert changed.any()
    assert not hasattr(adapted.models_["zh"], "validation_proba_")  # taken by the decoding, not kept


def test_adapt_is_the_same_as_fit_with_adapt_on(fold: tuple[pd.DataFrame, ...]) -> None:
    source, unlabeled, test = fold
    texts = test["text"].tolist()
    at_fit = SentimentModel(chinese_method="tfidf").fit(source, adapt_on=unlabeled["text"].tolist())
    after = SentimentModel(chinese_method="tfidf").fit(source).adapt(source, unlabeled)
    np.testing.assert_allclose(at_fit.predict_proba(texts), after.predict_proba(texts))


def test_a_blend_after_refitting_some_members_equals_a_full_blend(fold: tuple[pd.DataFrame, ...]) -> None:
    source, unlabeled, _ = fold
    train, validation = source[source["split"] == "train"], source[source["split"] == "validation"]
    stack = StackedClassifier([TfidfLogReg(analyzer="char", ngram_range=(1, 2)), TfidfLogReg(analyzer="jieba")])
    stack.fit(train["text"].tolist(), train["label"].to_numpy(),
              validation=(validation["text"].tolist(), validation["label"].to_numpy()))
    more = train["text"].tolist() + unlabeled["text"].tolist()[:200]
    stack.members[0].fit(more, np.concatenate([train["label"].to_numpy(), np.ones(200, dtype=int)]))
    partial = stack.reblend(validation["text"].tolist(), validation["label"].to_numpy(), changed=[0])
    kept = partial.validation_proba_.copy()
    full = stack.reblend(validation["text"].tolist(), validation["label"].to_numpy())
    np.testing.assert_allclose(kept, full.validation_proba_)


def test_bad_adaptation_calls_say_what_is_wrong(fold: tuple[pd.DataFrame, ...], shop) -> None:
    from shoplens.reviews.api import train

    source, unlabeled, _ = fold
    with pytest.raises(NotFound, match="not trained yet"):
        SentimentModel(chinese_method="tfidf").adapt(source, unlabeled)
    with pytest.raises(InputError, match="Workspace, a pandas DataFrame or a list of texts"):
        SentimentModel(chinese_method="tfidf").fit(source, adapt_on=42)
    with pytest.raises(InputError, match="no unlabeled reviews to adapt to"):  # every simulated review is rated
        train(shop, adapt=True, chinese_method="tfidf", evaluate=False)


def test_the_cli_says_when_a_workspace_has_nothing_to_adapt_to(shop) -> None:
    from typer.testing import CliRunner

    from shoplens.cli import app as cli

    result = CliRunner().invoke(cli, ["reviews", "train", "-w", str(shop.path), "--adapt", "--no-deploy"])
    assert result.exit_code == 1 and "no unlabeled reviews to adapt to" in result.output, result.output


def test_reviews_of_an_unseen_category_look_unlike_the_training_data(fold: tuple[pd.DataFrame, ...],
                                                                      tmp_path) -> None:
    source, _, test = fold
    model = SentimentModel(chinese_method="tfidf").fit(source)
    validation = source[source["split"] == "validation"]["text"].tolist()
    same = model.familiarity(validation, ["zh"] * len(validation))["zh"]
    books = model.familiarity(test["text"].tolist(), ["zh"] * len(test))["zh"]
    assert abs(same["drop"]) < 1e-9 and not same["unlike_training"]  # the reference is these very rows
    assert books["unlike_training"] and books["drop"] >= 0.05, books
    assert SentimentModel.load(model.save(tmp_path / "m")).familiarity(test["text"].tolist())["zh"] == books
    with pytest.warns(UserWarning, match="zh reviews look unlike the training data"):
        records = model.evaluate(test.assign(split="test", language="zh"), baselines=False)
    assert "look unlike the training data" in records[0].protocol.notes
