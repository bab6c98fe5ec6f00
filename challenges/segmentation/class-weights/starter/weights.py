"""Median-frequency class weights. Replace the body; keep the signature."""

import numpy as np


def median_frequency_weights(masks: list[np.ndarray], classes: int) -> list[float]:
    # Every class the same: this is the unweighted loss.
    return [1.0] * classes
