"""CLV: BG/NBD and Gamma-Gamma reproduce lifetimes' published CDNOW_sample fit (the gate of issue 3)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import shoplens as sl
from shoplens import analytics
from shoplens.analytics.clv import BetaGeoFitter, CLVModel, GammaGammaFitter
from shoplens.errors import InputError

# lifetimes' reference fit on CDNOW_sample (weekly units; calibration 1997-01-01 … 1997-09-30)
PUBLISHED = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258, "p": 6.25, "q": 3.74, "v": 15.45}


def same_to_3_significant_digits(ours: float, published: float) -> bool:
    """Within half a unit of the third significant digit of the published value."""
    unit = 10 ** (math.floor(math.log10(abs(published))) - 2)
    return abs(ours - published) <= unit / 2


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_sample: sl.Workspace) -> CLVModel:
    return CLVModel(calibration_end="1997-09-30").fit(cdnow_sample)


def test_cdnow_summary_follows_the_reference_protocol(cdnow_fit: CLVModel) -> None:
    summary = cdnow_fit.summary_
    assert len(summary) == 2357  # every customer of the sample bought in the calibration period
    assert (summary["frequency"] > 0).sum() == 946  # the repeat customers Gamma-Gamma is fitted on
    first = summary.set_index("customer_id").loc["00004"]  # 1 Jan, 18 Jan and 2 Aug 1997 (12 Dec is later)
    assert (first["frequency"], first["recency_days"], first["t_days"]) == (2, 213, 272)
    assert first["monetary"] == pytest.approx((29.73 + 14.96) / 2)  # the repeat purchases only


def test_bgnbd_and_gamma_gamma_reproduce_the_published_fit(cdnow_fit: CLVModel) -> None:
    for name, published in PUBLISHED.items():
        assert same_to_3_significant_digits(cdnow_fit.params[name], published), (name, cdnow_fit.params[name])
    assert cdnow_fit.bgnbd_.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert cdnow_fit.gamma_gamma_.n_customers_ == 946


def simulate_bgnbd(r: float, alpha: float, a: float, b: float, n: int, t: float, seed: int = 0) -> tuple:
    """Customers drawn from BG/NBD itself: (frequency, recency, T)."""
    rng = np.random.default_rng(seed)
    rates, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    frequency, recency = np.zeros(n), np.zeros(n)
    for i in range(n):
        now, last, count = 0.0, 0.0, 0
        while True:
            now += rng.exponential(1 / rates[i])
            if now > t:
                break
            count, last = count + 1, now
            if rng.random() < drop[i]:
                break
        frequency[i], recency[i] = count, last
    return frequency, recency, np.full(n, t)


def test_the_fit_recovers_other_parameters_from_neutral_starts() -> None:
    truth = {"r": 0.8, "alpha": 3.0, "a": 1.5, "b": 4.0}
    fitted = BetaGeoFitter().fit(*simulate_bgnbd(*truth.values(), n=4000, t=52)).params_
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=0.35), (name, fitted)
    assert not same_to_3_significant_digits(fitted["r"], PUBLISHED["r"])


def test_predictions_are_consistent(cdnow_fit: CLVModel) -> None:
    predictions = cdnow_fit.predict()
    assert predictions["p_alive"].between(0, 1).all()
    assert (predictions.loc[predictions["frequency"] == 0, "p_alive"] == 1).all()  # BG/NBD: no repeat, no death
    assert (predictions["expected_purchases"] >= 0).all() and (predictions["clv"] >= 0).all()
    # more repeat purchases at the same recency and age mean more expected purchases
    fitter = cdnow_fit.bgnbd_
    more = fitter.expected_purchases(52, [1, 5], [30, 30], [38, 38])
    assert more[1] > more[0]
    # a customer who bought often long ago and never since is probably gone
    assert fitter.p_alive(10, 5, 38) < 0.05 < fitter.p_alive(10, 37, 38)
    assert fitter.p_no_purchase(39, 0, 0, 38) == pytest.approx(1 - fitter.expected_purchases(39, 0, 0, 38), abs=0.5)


def test_save_and_load(cdnow_fit: CLVModel, tmp_path: Path) -> None:
    loaded = CLVModel.load(cdnow_fit.save(tmp_path / "clv"))
    assert loaded.params == cdnow_fit.params
    assert np.allclose(loaded.predict(cdnow_fit.summary_)["clv"], cdnow_fit.predict()["clv"])
    with pytest.raises(InputError, match="no saved CLV model"):
        CLVModel.load(tmp_path / "nothing")


def test_gamma_gamma_needs_repeat_buyers() -> None:
    with pytest.raises(InputError, match="repeat purchases"):
        GammaGammaFitter().fit([0, 0, 1], [np.nan, np.nan, 10.0])


def test_clv_on_an_empty_shop(workspace: sl.Workspace) -> None:
    with pytest.raises(InputError, match="no purchases"):
        analytics.CLVModel().fit(workspace)
