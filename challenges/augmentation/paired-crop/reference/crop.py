"""A random crop of an image and its mask (reference solution)."""

import numpy as np


def random_crop_pair(
    img: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    _, height, width = img.shape
    # One window for both.
    y0, x0 = rng.integers(height - size + 1), rng.integers(width - size + 1)
    return img[:, y0 : y0 + size, x0 : x0 + size], mask[y0 : y0 + size, x0 : x0 + size]
