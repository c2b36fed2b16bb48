"""Classification metrics of review models: accuracy, macro-F1, per-class report, confusion matrix,
and for stars the mean absolute error and within-one-star accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], *, ordinal: bool = False) -> dict[str, float]:
    """``accuracy``, ``macro_f1`` and, when the classes are ordered (stars), ``mae`` and ``within_one``."""
    from sklearn.metrics import accuracy_score, f1_score

    true, pred = np.asarray(y_true), np.asarray(y_pred)
    metrics = {"accuracy": float(accuracy_score(true, pred)), "macro_f1": float(f1_score(true, pred, average="macro"))}
    if ordinal:
        error = np.abs(true - pred)
        metrics["mae"] = float(error.mean())
        metrics["within_one"] = float((error <= 1).mean())
    return metrics


def class_report(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> dict[str, Any]:
    """Precision, recall, F1 and support per class, and the confusion matrix (rows: true, columns: predicted)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "per_class": [{"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(class_names, precision, recall, f1, support, strict=True)],
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": list(class_names),
    }
