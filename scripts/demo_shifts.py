"""Deterministic domain shifts for the Fashion-MNIST demo (pure numpy).

Every shift maps one grey image ``uint8 [28, 28]`` and its index in the test split to a new
``uint8 [28, 28]`` image. The formulas are specified exactly so that another implementation
(the Swift demo) reproduces the same bytes; ``reference_digests`` gives SHA-256 digests of the
first images of the test split under each shift to check that.

Conventions shared by all shifts
--------------------------------
* Arithmetic is IEEE-754 binary64 (double), one operation at a time, in the order written,
  with no fused multiply-add. Integer sums are exact.
* ``x = img / 255.0`` (one correctly rounded division per pixel).
* ``quantise(y) = floor(min(max(y, 0.0), 1.0) * 255.0 + 0.5)`` as ``uint8`` (multiply, then add,
  then floor).
* Borders: neighbourhood filters clamp coordinates to the image (edge replication):
  ``pixel(r, c) = img[min(max(r, 0), 27), min(max(c, 0), 27)]``.
* Pixels are visited in row-major order ``p = 28 * row + column``.

Noise (approximately Gaussian, reproducible without transcendental functions)
----------------------------------------------------------------------------
* SplitMix64 over unsigned 64-bit integers (all arithmetic modulo 2^64)::

      mix(z):  z = (z XOR (z >> 30)) * 0xBF58476D1CE4E5B9
               z = (z XOR (z >> 27)) * 0x94D049BB133111EB
               return z XOR (z >> 31)
      draw number k (k = 0, 1, 2, ...) of a stream with state s0:
               mix(s0 + (k + 1) * 0x9E3779B97F4A7C15)

  (the same values as the usual stateful SplitMix64: ``s += gamma; return mix(s)``).
* Stream state for image ``i`` under a shift with salt ``S``: ``s0 = S * 2^32 + i``.
* Uniform number: ``u = (draw >> 11) * 2^-53`` (exact, in [0, 1)).
* Pixel ``p`` uses draws ``k = 12 p, ..., 12 p + 11``:
  ``n = ((((u_0 + u_1) + u_2) + ...) + u_11) - 6.0`` (left-to-right sum, then subtract):
  mean 0, variance 1 (Irwin-Hall), range [-6, 6].

Shifts
------
* ``clean``: the image unchanged.
* ``solarize`` (partial inversion): pixels of value 128 or more are inverted,
  ``img < 128 ? img : 255 - img`` (exact integers). The dark background stays, the bright parts
  of the garment turn dark.
* ``blur_noise`` (salt 1): separable binomial blur, 5 taps ``[1, 4, 6, 4, 1]`` (a Gaussian of
  sigma 1 approximated), first along rows then along columns, with clamped borders; the integer
  result ``B`` (exact, in [0, 65280]) gives ``b = B / 65280.0``; ``y = b + 0.15 * n``
  (``0.15 * n`` first); ``quantise(y)``.
* ``edges`` (Sobel magnitude): ``gx = (P[r-1][c+1] + 2 P[r][c+1] + P[r+1][c+1]) - (P[r-1][c-1]
  + 2 P[r][c-1] + P[r+1][c-1])``, ``gy = (P[r+1][c-1] + 2 P[r+1][c] + P[r+1][c+1]) - (P[r-1][c-1]
  + 2 P[r-1][c] + P[r-1][c+1])`` with ``P[r][c] = pixel(r, c)`` (uint8 values, clamped
  borders; exact integers);
  ``m = sqrt(gx * gx + gy * gy)`` (integer sum, then one correctly rounded square root);
  ``M = max of m over the image``; ``y = m / M`` if ``M > 0`` else ``0``; ``quantise(y)``.
* ``inversion`` (full inversion): ``255 - img`` (exact integers).
* ``low_contrast_noise`` (salt 2): ``y = 0.4 * x + 0.1 * n`` (the two products, then their sum);
  ``quantise(y)``. Contrast falls to 40 % and the dark background turns noisy (negative values
  clip to 0).
"""

from __future__ import annotations

import hashlib

import numpy as np

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE
UNIFORMS_PER_NOISE_SAMPLE = 12

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)

NOISE_SALT_BLUR_NOISE = 1
NOISE_SALT_LOW_CONTRAST_NOISE = 2

SHIFT_NAMES = ("clean", "solarize", "blur_noise", "edges", "low_contrast_noise", "inversion")


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 output function on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def noise(salt: int, image_indices: np.ndarray) -> np.ndarray:
    """Irwin-Hall noise (12 uniforms minus 6) for each pixel of each image.

    - Parameters: salt: the shift's stream salt; image_indices: ``[images]`` indices in the split.
    - Returns: ``float64 [images, 28, 28]``.
    """
    indices = np.asarray(image_indices, dtype=np.uint64)
    states = np.uint64(salt) * np.uint64(1 << 32) + indices  # [images]
    draws = np.arange(1, PIXELS * UNIFORMS_PER_NOISE_SAMPLE + 1, dtype=np.uint64) * _GAMMA
    with np.errstate(over="ignore"):
        raw = _mix(states[:, None] + draws[None, :])  # [images, pixels * 12]
    uniforms = (raw >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    uniforms = uniforms.reshape(len(indices), PIXELS, UNIFORMS_PER_NOISE_SAMPLE)
    total = uniforms[:, :, 0].copy()
    for k in range(1, UNIFORMS_PER_NOISE_SAMPLE):
        total = total + uniforms[:, :, k]
    return (total - 6.0).reshape(len(indices), IMAGE_SIDE, IMAGE_SIDE)


def quantise(y: np.ndarray) -> np.ndarray:
    """``floor(clip(y, 0, 1) * 255 + 0.5)`` as uint8."""
    clipped = np.minimum(np.maximum(y, 0.0), 1.0)
    return np.floor(clipped * 255.0 + 0.5).astype(np.uint8)


def _unit(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float64) / 255.0


def _clamped_padded(images: np.ndarray, pad: int) -> np.ndarray:
    """Edge-replicated padding of ``[images, 28, 28]`` as int64."""
    return np.pad(images.astype(np.int64), ((0, 0), (pad, pad), (pad, pad)), mode="edge")


def solarize(images: np.ndarray, image_indices: np.ndarray) -> np.ndarray:
    """Partial inversion: values of 128 or more become ``255 - value``."""
    del image_indices
    values = images.astype(np.int64)
    return np.where(values < 128, values, 255 - values).astype(np.uint8)


def blur_noise(images: np.ndarray, image_indices: np.ndarray) -> np.ndarray:
    """Binomial 5-tap blur (sigma about 1) plus noise of standard deviation 0.15."""
    taps = (1, 4, 6, 4, 1)
    padded = _clamped_padded(images, 2)  # [n, 32, 32]
    rows = sum(weight * padded[:, :, offset:offset + IMAGE_SIDE] for offset, weight in enumerate(taps))
    blurred = sum(weight * rows[:, offset:offset + IMAGE_SIDE, :] for offset, weight in enumerate(taps))
    b = blurred.astype(np.float64) / 65280.0
    return quantise(b + 0.15 * noise(NOISE_SALT_BLUR_NOISE, image_indices))


def edges(images: np.ndarray, image_indices: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude, scaled by its per-image maximum."""
    del image_indices
    p = _clamped_padded(images, 1)  # [n, 30, 30]; p[:, r + 1, c + 1] is pixel (r, c)

    def at(dr: int, dc: int) -> np.ndarray:
        return p[:, 1 + dr:1 + dr + IMAGE_SIDE, 1 + dc:1 + dc + IMAGE_SIDE]

    gx = (at(-1, 1) + 2 * at(0, 1) + at(1, 1)) - (at(-1, -1) + 2 * at(0, -1) + at(1, -1))
    gy = (at(1, -1) + 2 * at(1, 0) + at(1, 1)) - (at(-1, -1) + 2 * at(-1, 0) + at(-1, 1))
    magnitude = np.sqrt((gx * gx + gy * gy).astype(np.float64))
    maximum = magnitude.reshape(len(images), -1).max(axis=1)[:, None, None]
    safe = np.where(maximum > 0, maximum, 1.0)
    y = np.where(maximum > 0, magnitude / safe, 0.0)
    return quantise(y)


def inversion(images: np.ndarray, image_indices: np.ndarray) -> np.ndarray:
    """Full inversion ``255 - img``."""
    del image_indices
    return (255 - images.astype(np.int64)).astype(np.uint8)


def low_contrast_noise(images: np.ndarray, image_indices: np.ndarray) -> np.ndarray:
    """Contrast scaled to 0.4 plus noise of standard deviation 0.1."""
    x = _unit(images)
    y = 0.4 * x + 0.1 * noise(NOISE_SALT_LOW_CONTRAST_NOISE, image_indices)
    return quantise(y)


def clean(images: np.ndarray, image_indices: np.ndarray) -> np.ndarray:
    """The images unchanged."""
    del image_indices
    return images.astype(np.uint8).copy()


SHIFTS = {
    "clean": clean,
    "solarize": solarize,
    "blur_noise": blur_noise,
    "edges": edges,
    "inversion": inversion,
    "low_contrast_noise": low_contrast_noise,
}


def apply_shift(name: str, images: np.ndarray, first_index: int = 0, chunk: int = 500) -> np.ndarray:
    """Apply shift ``name`` to ``uint8 [n, 28, 28]`` images whose split indices start at ``first_index``."""
    function = SHIFTS[name]
    out = np.empty_like(images, dtype=np.uint8)
    for start in range(0, len(images), chunk):
        stop = min(start + chunk, len(images))
        indices = np.arange(first_index + start, first_index + stop, dtype=np.uint64)
        out[start:stop] = function(images[start:stop], indices)
    return out


def reference_digests(test_images: np.ndarray, count: int = 64) -> dict:
    """SHA-256 of the first ``count`` shifted test images (row-major uint8 bytes, concatenated)."""
    digests = {}
    for name in SHIFT_NAMES:
        shifted = apply_shift(name, test_images[:count])
        digests[name] = hashlib.sha256(np.ascontiguousarray(shifted).tobytes()).hexdigest()
    return digests
