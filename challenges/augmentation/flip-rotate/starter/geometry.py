"""Flips and quarter turns of images (channels, height, width). Replace the bodies; keep the
signatures."""

import numpy as np


def hflip(img: np.ndarray) -> np.ndarray:
    """Mirror left-right."""
    # Returns the image unchanged: move the pixels.
    return img.copy()


def rot90(img: np.ndarray) -> np.ndarray:
    """A quarter turn counter-clockwise: a C x H x W image becomes C x W x H."""
    return img.copy()
