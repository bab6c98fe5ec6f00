"""A random crop of an image and its mask. Fix it; keep the signature."""

import numpy as np


def random_crop_pair(
    img: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    _, height, width = img.shape
    # Image window.
    y0, x0 = rng.integers(height - size + 1), rng.integers(width - size + 1)
    image = img[:, y0 : y0 + size, x0 : x0 + size]
    # Mask window: drawn separately (this is the bug).
    my, mx = rng.integers(height - size + 1), rng.integers(width - size + 1)
    labels = mask[my : my + size, mx : mx + size]
    return image, labels
