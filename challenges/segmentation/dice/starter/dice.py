"""Dice per class. Fix it; keep the signature."""

import numpy as np


def dice_per_class(pred: np.ndarray, truth: np.ndarray, classes: int) -> list[float | None]:
    scores = []
    for c in range(classes):
        tp = int(np.sum((pred == c) & (truth == c)))
        fp = int(np.sum((pred == c) & (truth != c)))
        fn = int(np.sum((pred != c) & (truth == c)))
        union = tp + fp + fn
        # This is IoU, not Dice.
        scores.append(tp / union if union > 0 else None)
    return scores
