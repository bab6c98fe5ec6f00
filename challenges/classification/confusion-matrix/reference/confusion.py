"""Confusion matrix and per-class recall (reference solution)."""

import numpy as np


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, classes: int) -> np.ndarray:
    """m[t, p] = how many examples of true class t were predicted as class p."""
    m = np.zeros((classes, classes), dtype=np.int64)
    valid = (truth < classes) & (pred < classes)
    np.add.at(m, (truth[valid], pred[valid]), 1)
    return m


def per_class_recall(confusion: np.ndarray) -> list[float | None]:
    """Recall of each class; None for a class with no examples."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    return [float(confusion[c, c] / t) if t > 0 else None for c, t in enumerate(totals)]
