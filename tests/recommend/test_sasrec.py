"""SASRec's training options: the sampled softmax (loss="sampled") against the full cross-entropy, validation
every k epochs, and clear errors for bad parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoplens.errors import InputError
from shoplens.recommend import SASRec, leave_one_out
from shoplens.recommend.sasrec import _build_network, _sampled_softmax_loss

torch = pytest.importorskip("torch")

N_ITEMS = 120


def cyclic_sequences(n_users: int = 400, length: int = 8, seed: int = 0) -> pd.DataFrame:
    """Each customer walks the catalogue in steps of one from a random start: the next item is always the last + 1."""
    rng = np.random.default_rng(seed)
    rows = [(f"c{u}", f"p{(start + step) % N_ITEMS:03d}", step)
            for u, start in enumerate(rng.integers(0, N_ITEMS, n_users)) for step in range(length)]
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "ts"])


def test_sampled_loss_over_the_whole_catalogue_is_the_full_cross_entropy() -> None:
    torch.manual_seed(0)
    net = _build_network(50, 8, 1, 1, 10, 0.0)
    hidden = torch.randn(30, 8, requires_grad=True)
    targets = torch.randint(1, 51, (30,))
    full = torch.nn.functional.cross_entropy(net.logits(hidden), targets - 1)
    (full_grad,) = torch.autograd.grad(full, hidden)
    sampled = _sampled_softmax_loss(net, hidden, targets, 50)  # every item sampled: nothing is estimated
    (sampled_grad,) = torch.autograd.grad(sampled, hidden)
    assert float(sampled) == pytest.approx(float(full), rel=1e-5)
    torch.testing.assert_close(sampled_grad, full_grad, rtol=1e-4, atol=1e-6)
    fewer = _sampled_softmax_loss(net, hidden, targets, 10)  # a fifth of the catalogue: an estimate, not exact
    assert float(fewer) != pytest.approx(float(full), rel=1e-5)


@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_both_losses_learn_the_next_item(loss: str) -> None:
    split = leave_one_out(cyclic_sequences())
    model = SASRec(dim=32, layers=1, dropout=0.1, learning_rate=5e-3, batch_size=64, max_epochs=15, patience=15,
                   loss=loss, negatives=N_ITEMS // 4, seed=1).fit(split.train, validation=split.validation)
    # the test item of every customer is the item after their last one; validation found it too
    assert model.validation_ndcg_ > 0.8
    hits = [model.recommend_for_sequence([f"p{i:03d}", f"p{i + 1:03d}", f"p{i + 2:03d}"], k=1)["product_id"][0]
            == f"p{i + 3:03d}" for i in range(0, N_ITEMS - 3, 7)]
    assert np.mean(hits) > 0.8


def test_validation_every_k_epochs_and_after_the_last() -> None:
    split = leave_one_out(cyclic_sequences(n_users=100))
    model = SASRec(dim=8, layers=1, max_epochs=5, patience=100, validate_every=2, batch_size=64,
                   loss="sampled", negatives=30).fit(split.train, validation=split.validation)
    assert [row["epoch"] for row in model.curves_["validation"]] == [2, 4, 5]
    assert [row["epoch"] for row in model.curves_["train"]] == [1, 2, 3, 4, 5]
    assert model.best_epoch_ in (2, 4, 5) and model.epochs_ == 5


@pytest.mark.parametrize(("params", "message"), [({"loss": "bpr"}, "not one of full, sampled"),
                                                 ({"negatives": 0}, "at least 1"),
                                                 ({"validate_every": 0}, "at least 1")])
def test_bad_training_options_are_named(params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        SASRec(max_epochs=1, **params).fit(cyclic_sequences(n_users=20))
