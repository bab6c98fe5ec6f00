"""Dice per class (reference solution)."""

import numpy as np


def dice_per_class(pred: np.ndarray, truth: np.ndarray, classes: int) -> list[float | None]:
    scores = []
    for c in range(classes):
        tp = int(np.sum((pred == c) & (truth == c)))
        fp = int(np.sum((pred == c) & (truth != c)))
        fn = int(np.sum((pred != c) & (truth == c)))
        denominator = 2 * tp + fp + fn
        scores.append(2 * tp / denominator if denominator > 0 else None)
    return scores
