"""Median-frequency class weights (reference solution)."""

import numpy as np


def median_frequency_weights(masks: list[np.ndarray], classes: int) -> list[float]:
    counts = np.zeros(classes, dtype=np.int64)
    for mask in masks:
        counts += np.bincount(mask[mask < classes].ravel(), minlength=classes)[:classes]
    total = max(int(counts.sum()), 1)
    frequency = counts / total
    present = np.sort(frequency[counts > 0])
    median = present[len(present) // 2] if len(present) else 1.0
    return [float(median / f) if c > 0 else 0.0 for c, f in zip(counts, frequency)]
