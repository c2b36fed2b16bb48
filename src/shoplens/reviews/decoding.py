"""Decoding class probabilities into labels when classes are imbalanced (and, for stars, ordered).

Plain argmax favours the majority class (5 stars is 55% of women's clothing reviews), which caps
macro-F1. :class:`BiasDecoder` adds one offset per class to the log-probabilities, chosen on the
validation split by coordinate search to maximise macro-F1; for ordered classes the search refuses any
offset that raises the mean absolute error by more than ``mae_slack`` over argmax. Test data is never seen.
"""

from __future__ import annotations

import numpy as np

GRID = np.round(np.arange(-1.5, 1.51, 0.1), 2)
ROUNDS = 3


class BiasDecoder:
    """``fit(log_probs, y)`` on validation, then ``predict(log_probs)``; offsets in ``bias_``."""

    def __init__(self, ordinal: bool = False, mae_slack: float = 0.0) -> None:
        self.ordinal = ordinal
        self.mae_slack = mae_slack

    def _score(self, scores: np.ndarray, y: np.ndarray, bias: np.ndarray, mae_limit: float) -> float:
        from sklearn.metrics import f1_score

        pred = (scores + bias).argmax(1)
        if self.ordinal and np.abs(pred - y).mean() > mae_limit + 1e-12:
            return -1.0
        return float(f1_score(y, pred, average="macro"))

    def fit(self, log_probs: np.ndarray, y: np.ndarray) -> BiasDecoder:
        y = np.asarray(y)
        n_classes = log_probs.shape[1]
        bias = np.zeros(n_classes)
        mae_limit = np.abs(log_probs.argmax(1) - y).mean() + self.mae_slack if self.ordinal else np.inf
        best = self._score(log_probs, y, bias, mae_limit)
        for _ in range(ROUNDS):
            improved = False
            for k in range(n_classes):
                for value in GRID:
                    trial = bias.copy()
                    trial[k] = value
                    score = self._score(log_probs, y, trial, mae_limit)
                    if score > best + 1e-9:
                        best, bias, improved = score, trial, True
            if not improved:
                break
        self.bias_ = bias
        self.validation_score_ = best
        return self

    def predict(self, log_probs: np.ndarray) -> np.ndarray:
        return (log_probs + getattr(self, "bias_", 0.0)).argmax(1)

    def to_dict(self) -> dict:
        return {"ordinal": self.ordinal, "mae_slack": self.mae_slack, "bias": getattr(self, "bias_", None) is not None
                and self.bias_.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> BiasDecoder:
        decoder = cls(ordinal=data["ordinal"], mae_slack=data["mae_slack"])
        if data.get("bias"):
            decoder.bias_ = np.asarray(data["bias"], dtype=float)
        return decoder
