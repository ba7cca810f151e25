"""Finite scalar quantization (Mentzer et al. 2023, arXiv 2309.15505).

Each of the d channels of a latent is bounded to a few levels and rounded
to the nearest integer; the code is the tuple of the d integers and its
index is their mixed-radix number, so a codebook of prod(levels) entries
needs no learned table and cannot collapse. Rounding passes gradients
straight through (identity).

Written from the paper's description: z -> tanh bound -> round; with
levels L_i, channel i takes L_i values. For an even L_i the grid is offset
by one half so that it has L_i points symmetric about zero. Codes are
returned normalised to [-1, 1] (as the paper's implementation does), the
quantizer's output scale.
"""

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

_EPS = 1e-3


def _levels(levels: Sequence[int]) -> np.ndarray:
  lv = np.asarray(levels, np.int64)
  if lv.ndim != 1 or not len(lv) or (lv < 2).any():
    raise ValueError(f"FSQ levels must be a non-empty list of ints >= 2, "
                     f"got {list(levels)}")
  return lv


def codebook_size(levels: Sequence[int]) -> int:
  return int(np.prod(_levels(levels)))


def bound(z_xD, levels: Sequence[int]):
  """Squashes each channel into (-L/2, L/2) so rounding gives L values."""
  lv = jnp.asarray(_levels(levels), jnp.float32)
  half_l = (lv - 1) * (1 + _EPS) / 2
  offset = jnp.where(lv % 2 == 0, 0.5, 0.0)
  shift = jnp.arctanh(offset / half_l)
  return jnp.tanh(z_xD + shift) * half_l - offset


def round_ste(x):
  """Round in the forward pass, identity gradient."""
  return x + jax.lax.stop_gradient(jnp.round(x) - x)


def quantize(z_xD, levels: Sequence[int]):
  """Latent [..., d] -> quantized codes in [-1, 1] [..., d] (STE)."""
  _check_width(z_xD, levels)
  half_width = jnp.asarray(_levels(levels) // 2, jnp.float32)
  return round_ste(bound(z_xD.astype(jnp.float32), levels)) / half_width


def codes_to_indices(codes_xD, levels: Sequence[int]):
  """Normalised codes [..., d] -> int32 indices [...] in [0, prod(L))."""
  _check_width(codes_xD, levels)
  lv = _levels(levels)
  half_width = jnp.asarray(lv // 2, jnp.float32)
  basis = jnp.asarray(np.cumprod(np.r_[1, lv[:-1]]), jnp.int32)
  digits = jnp.round(codes_xD * half_width + half_width).astype(jnp.int32)
  return (digits * basis).sum(-1)


def indices_to_codes(idx_x, levels: Sequence[int]):
  """int indices [...] -> normalised codes [..., d] (inverse of the above)."""
  lv = _levels(levels)
  half_width = jnp.asarray(lv // 2, jnp.float32)
  basis = jnp.asarray(np.cumprod(np.r_[1, lv[:-1]]), jnp.int32)
  digits = (idx_x[..., None] // basis) % jnp.asarray(lv, jnp.int32)
  return (digits.astype(jnp.float32) - half_width) / half_width


def _check_width(x_xD, levels):
  if x_xD.shape[-1] != len(levels):
    raise ValueError(f"FSQ: last axis {x_xD.shape[-1]} != {len(levels)} "
                     f"levels {list(levels)}")


def usage(indices, levels: Sequence[int], mask=None) -> dict[str, float]:
  """Share of the codebook used and the code perplexity (numpy, host)."""
  idx = np.asarray(indices).reshape(-1)
  if mask is not None:
    idx = idx[np.asarray(mask).reshape(-1).astype(bool)]
  n = codebook_size(levels)
  if not len(idx):
    return {"codes_used": 0.0, "perplexity": 0.0, "codebook_size": n}
  counts = np.bincount(idx, minlength=n).astype(np.float64)
  p = counts[counts > 0] / counts.sum()
  return {"codes_used": float((counts > 0).mean()),
          "perplexity": float(np.exp(-(p * np.log(p)).sum())),
          "codebook_size": n}
