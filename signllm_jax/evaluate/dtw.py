"""Dynamic time warping for pose sequences: PT's DTW and DTW-MJE, in JAX.

Both metrics share one exact DTW recursion (steps diagonal, up, left, all with
weight 1, no window), computed over anti-diagonals so that one `lax.scan` step
updates a whole diagonal at once. The per-frame cost is evaluated inside the
scan, so no [R, H, D] tensor is ever materialised. Inputs are padded arrays
plus lengths; cells beyond the lengths never reach the read-out cell, so
padding does not change the result. Everything jits and vmaps; the `*_batch`
functions are `jax.jit(jax.vmap(...))`.

PT's DTW (`pt_dtw`), exactly as Progressive Transformers' `calculate_dtw`
(ProgressiveTransformersSLP, helpers.py + dtw.py):
  1. drop the hypothesis' first frame (PT's BOS frame; switchable);
  2. cut each sequence at the argmax of its counter (column 151), exclusive:
     keep frames [0, argmax), at least one frame. Ties in the counter go to
     the first maximum. On counters that rise to their last frame (PT files'
     i/T, i = 0..T-1, or the internal (i+1)/T) this drops the last frame;
  3. frame cost = sum over the 150 joint values of |x - y|;
  4. value = accumulated cost of the optimal path / (cut) reference length.
  PT computed it on its file values (internal coordinates / 3): divide poses
  by 3 to compare with its published numbers.

DTW-MJE (`dtw_mje`): the same recursion with frame cost = mean over joints of
the Euclidean distance between matching joints; value = accumulated cost of
the optimal path / number of cells on that path, i.e. the mean joint error
along the alignment. No BOS drop and no counter cut: it reads the frames
[0, length). Among equal-cost predecessors the diagonal step wins, then up,
then left (this only matters for the path length).

Missing joints (NaN) are ignored: a coordinate (L1) or a joint (MJE) that is
NaN in either frame contributes nothing, and the MJE mean is taken over the
joints present in both frames (a frame pair sharing no joint costs 0).
"""

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from signllm_jax import skeleton

FrameCost = Callable[[jax.Array, jax.Array], jax.Array]


def l1_frame_cost(ref_RxD: jax.Array, hyp_RxD: jax.Array) -> jax.Array:
  """Row-wise sum of |x - y| over the values finite in both rows."""
  diff_RxD = jnp.abs(ref_RxD - hyp_RxD)
  return jnp.sum(jnp.where(jnp.isnan(diff_RxD), 0.0, diff_RxD), axis=-1)


def mje_frame_cost(ref_RxD: jax.Array, hyp_RxD: jax.Array) -> jax.Array:
  """Row-wise mean Euclidean joint error over joints present in both rows.

  Rows are coordinate-major, D = 3 * J: all x, then all y, then all z (a
  size-3 minor axis is slow on CPU; `dtw_mje` reorders once).
  """
  rows = ref_RxD.shape[0]
  diff_Rx3xJ = (ref_RxD - hyp_RxD).reshape(rows, 3, -1)
  nan_Rx3xJ = jnp.isnan(diff_Rx3xJ)
  valid_RxJ = ~jnp.any(nan_Rx3xJ, axis=1)
  sq_RxJ = jnp.sum(jnp.where(nan_Rx3xJ, 0.0, diff_Rx3xJ) ** 2, axis=1)
  # sqrt at 0 has an infinite gradient; keep the metric differentiable.
  dist_RxJ = jnp.where(valid_RxJ, jnp.sqrt(jnp.where(valid_RxJ, sq_RxJ, 1.0)),
                       0.0)
  count_R = jnp.sum(valid_RxJ, axis=-1)
  return jnp.sum(dist_RxJ, axis=-1) / jnp.maximum(count_R, 1)


def dtw_accumulated(
    hyp_HxD: jax.Array,
    ref_RxD: jax.Array,
    hyp_len: jax.Array,
    ref_len: jax.Array,
    frame_cost: FrameCost = l1_frame_cost,
) -> tuple[jax.Array, jax.Array]:
  """Accumulated cost and path length of the optimal DTW alignment.

  Args:
    hyp_HxD: hypothesis frames, padded to H.
    ref_RxD: reference frames, padded to R.
    hyp_len: number of valid hypothesis frames (>= 1).
    ref_len: number of valid reference frames (>= 1).
    frame_cost: maps (ref rows [R, D], hyp rows [R, D]) to costs [R].

  Returns:
    (total cost, number of cells on the optimal path), float32 scalars.
  """
  num_r, num_h = ref_RxD.shape[0], hyp_HxD.shape[0]
  rows_R = jnp.arange(num_r)
  target_k = ref_len + hyp_len - 2
  target_i = ref_len - 1
  inf = jnp.array(jnp.inf, jnp.float32)

  def shift(x_R, fill):
    # Value of the previous row (i - 1) at each row i.
    return jnp.concatenate([jnp.full((1,), fill, x_R.dtype), x_R[:-1]])

  def step(carry, k):
    d_km1, d_km2, n_km1, n_km2, total, length = carry
    cols_R = k - rows_R
    in_grid_R = (cols_R >= 0) & (cols_R < num_h)
    hyp_rows_RxD = hyp_HxD[jnp.clip(cols_R, 0, num_h - 1)]
    cost_R = frame_cost(ref_RxD, hyp_rows_RxD).astype(jnp.float32)
    diag_R, up_R, left_R = shift(d_km2, inf), shift(d_km1, inf), d_km1
    n_diag, n_up, n_left = shift(n_km2, 0), shift(n_km1, 0), n_km1
    best_R = jnp.minimum(diag_R, jnp.minimum(up_R, left_R))
    n_best = jnp.where(diag_R <= jnp.minimum(up_R, left_R), n_diag,
                       jnp.where(up_R <= left_R, n_up, n_left))
    start_R = (k == 0) & (rows_R == 0)
    best_R = jnp.where(start_R, 0.0, best_R)
    n_best = jnp.where(start_R, 0, n_best)
    d_k = jnp.where(in_grid_R, cost_R + best_R, inf)
    n_k = jnp.where(in_grid_R, n_best + 1, 0)
    hit = k == target_k
    total = jnp.where(hit, d_k[target_i], total)
    length = jnp.where(hit, n_k[target_i], length)
    return (d_k, d_km1, n_k, n_km1, total, length), None

  init = (jnp.full((num_r,), inf), jnp.full((num_r,), inf),
          jnp.zeros((num_r,), jnp.int32), jnp.zeros((num_r,), jnp.int32),
          jnp.array(jnp.nan, jnp.float32), jnp.array(0, jnp.int32))
  (_, _, _, _, total, length), _ = jax.lax.scan(
      step, init, jnp.arange(num_r + num_h - 1))
  return total, length.astype(jnp.float32)


def _counter_cut(counter_T: jax.Array, length: jax.Array) -> jax.Array:
  """PT's cut: frames [0, argmax(counter)), at least 1 (first max on ties)."""
  valid_T = jnp.arange(counter_T.shape[0]) < length
  idx = jnp.argmax(jnp.where(valid_T, counter_T, -jnp.inf))
  return jnp.maximum(idx, 1)


def pt_dtw(
    hyp_HxF: jax.Array,
    ref_RxF: jax.Array,
    hyp_len: jax.Array,
    ref_len: jax.Array,
    *,
    drop_hyp_first: bool = True,
) -> jax.Array:
  """PT's DTW for one pair of 151-d frame sequences (see module docstring).

  Args:
    hyp_HxF: produced frames (150 joint values then the counter), padded.
    ref_RxF: ground-truth frames, padded.
    hyp_len: valid hypothesis frames, counting the BOS frame if present.
    ref_len: valid reference frames.
    drop_hyp_first: drop the hypothesis' first frame (PT's BOS frame).

  Returns:
    The DTW cost divided by the cut reference length (float32 scalar).
  """
  if drop_hyp_first:
    hyp_HxF = jnp.concatenate([hyp_HxF[1:], hyp_HxF[:1] * jnp.nan])
    hyp_len = hyp_len - 1
  hyp_cut = _counter_cut(hyp_HxF[:, -1], hyp_len)
  ref_cut = _counter_cut(ref_RxF[:, -1], ref_len)
  total, _ = dtw_accumulated(hyp_HxF[:, :-1], ref_RxF[:, :-1], hyp_cut,
                             ref_cut, l1_frame_cost)
  return total / ref_cut.astype(jnp.float32)


def dtw_mje(
    hyp_HxJx3: jax.Array,
    ref_RxJx3: jax.Array,
    hyp_len: jax.Array,
    ref_len: jax.Array,
) -> jax.Array:
  """DTW-MJE for one pair of pose sequences: mean joint error on the path."""
  hyp_HxD = jnp.swapaxes(hyp_HxJx3, 1, 2).reshape(hyp_HxJx3.shape[0], -1)
  ref_RxD = jnp.swapaxes(ref_RxJx3, 1, 2).reshape(ref_RxJx3.shape[0], -1)
  total, length = dtw_accumulated(hyp_HxD, ref_RxD, hyp_len, ref_len,
                                  mje_frame_cost)
  return total / length


@functools.partial(jax.jit, static_argnames=("drop_hyp_first",))
def pt_dtw_batch(hyp_BxHxF, ref_BxRxF, hyp_lengths_B, ref_lengths_B, *,
                 drop_hyp_first: bool = True) -> jax.Array:
  """`pt_dtw` over a batch (jitted): [B,H,151], [B,R,151], [B], [B] -> [B]."""
  return jax.vmap(functools.partial(pt_dtw, drop_hyp_first=drop_hyp_first))(
      hyp_BxHxF, ref_BxRxF, hyp_lengths_B, ref_lengths_B)


@jax.jit
def dtw_mje_batch(hyp_BxHxJx3, ref_BxRxJx3, hyp_lengths_B,
                  ref_lengths_B) -> jax.Array:
  """`dtw_mje` over a batch (jitted): [B,H,J,3], [B,R,J,3], [B], [B] -> [B]."""
  return jax.vmap(dtw_mje)(hyp_BxHxJx3, ref_BxRxJx3, hyp_lengths_B,
                           ref_lengths_B)


def frames_with_counter(pose_BxTxJx3: np.ndarray,
                        lengths_B: np.ndarray) -> np.ndarray:
  """Internal poses -> [B, T, 151] frames with the internal counter (i+1)/T.

  Padding frames get counter 0 and joint values 0.
  """
  pose_BxTxJx3 = np.asarray(pose_BxTxJx3, np.float32)
  lengths_B = np.asarray(lengths_B)
  b, t = pose_BxTxJx3.shape[:2]
  valid_BxT = np.arange(t)[None] < lengths_B[:, None]
  counter_BxT = np.where(
      valid_BxT, (np.arange(t)[None] + 1) / np.maximum(lengths_B[:, None], 1),
      0.0).astype(np.float32)
  joints_BxTxD = np.where(valid_BxT[..., None],
                          pose_BxTxJx3.reshape(b, t, -1), 0.0)
  return np.concatenate([joints_BxTxD, counter_BxT[..., None]], -1).astype(
      np.float32)


def _check_lengths(name: str, lengths_B, padded: int, minimum: int):
  lengths_B = np.asarray(lengths_B)
  bad = np.nonzero((lengths_B < minimum) | (lengths_B > padded))[0]
  if bad.size:
    i = int(bad[0])
    raise ValueError(f"{name} length {int(lengths_B[i])} at batch index {i} "
                     f"is outside [{minimum}, {padded}]")
  return jnp.asarray(lengths_B, jnp.int32)


def pt_dtw_scores(hyp_BxHxF, ref_BxRxF, hyp_lengths_B, ref_lengths_B, *,
                  drop_hyp_first: bool = True) -> np.ndarray:
  """Checked host wrapper of `pt_dtw_batch`; returns a numpy [B] array."""
  hyp_BxHxF, ref_BxRxF = np.asarray(hyp_BxHxF), np.asarray(ref_BxRxF)
  for name, x in (("hypothesis", hyp_BxHxF), ("reference", ref_BxRxF)):
    if x.ndim != 3 or x.shape[-1] != skeleton.FRAME_DIM:
      raise ValueError(f"{name} frames must be [B, T, {skeleton.FRAME_DIM}], "
                       f"got {x.shape}")
  hyp_l = _check_lengths("hypothesis", hyp_lengths_B, hyp_BxHxF.shape[1],
                         2 if drop_hyp_first else 1)
  ref_l = _check_lengths("reference", ref_lengths_B, ref_BxRxF.shape[1], 1)
  return np.asarray(pt_dtw_batch(jnp.asarray(hyp_BxHxF, jnp.float32),
                                 jnp.asarray(ref_BxRxF, jnp.float32),
                                 hyp_l, ref_l, drop_hyp_first=drop_hyp_first))


def dtw_mje_scores(hyp_BxHxJx3, ref_BxRxJx3, hyp_lengths_B,
                   ref_lengths_B) -> np.ndarray:
  """Checked host wrapper of `dtw_mje_batch`; returns a numpy [B] array."""
  hyp, ref = np.asarray(hyp_BxHxJx3), np.asarray(ref_BxRxJx3)
  for name, x in (("hypothesis", hyp), ("reference", ref)):
    if x.ndim != 4 or x.shape[-1] != 3:
      raise ValueError(f"{name} poses must be [B, T, J, 3], got {x.shape}")
  hyp_l = _check_lengths("hypothesis", hyp_lengths_B, hyp.shape[1], 1)
  ref_l = _check_lengths("reference", ref_lengths_B, ref.shape[1], 1)
  return np.asarray(dtw_mje_batch(jnp.asarray(hyp, jnp.float32),
                                  jnp.asarray(ref, jnp.float32), hyp_l, ref_l))


def pad_sequences(seqs: list[np.ndarray], *, multiple: int = 16,
                  ) -> tuple[np.ndarray, np.ndarray]:
  """Stacks variable-length [T, ...] arrays into [B, T_pad, ...] + lengths.

  Padding to a multiple of `multiple` frames limits recompiles.
  """
  if not seqs:
    raise ValueError("no sequences to pad")
  lengths = np.array([len(s) for s in seqs], np.int32)
  t_pad = int(-(-lengths.max() // multiple) * multiple)
  tail = np.asarray(seqs[0]).shape[1:]
  out = np.zeros((len(seqs), t_pad) + tail, np.float32)
  for i, s in enumerate(seqs):
    if np.asarray(s).shape[1:] != tail:
      raise ValueError(f"sequence {i} has frame shape {np.shape(s)[1:]}, "
                       f"expected {tail}")
    out[i, :len(s)] = s
  return out, lengths


@functools.partial(jax.jit, static_argnames=("frame_cost",))
def _accumulated_batch(hyp, ref, hyp_len, ref_len, frame_cost):
  return jax.vmap(dtw_accumulated, in_axes=(0, 0, 0, 0, None))(
      hyp, ref, hyp_len, ref_len, frame_cost)


def dtw_accumulated_batch(hyp_BxHxD, ref_BxRxD, hyp_lengths_B, ref_lengths_B,
                          *, frame_cost: FrameCost = l1_frame_cost):
  """Batched `dtw_accumulated` (jitted): (total [B], path length [B])."""
  return _accumulated_batch(jnp.asarray(hyp_BxHxD, jnp.float32),
                            jnp.asarray(ref_BxRxD, jnp.float32),
                            jnp.asarray(hyp_lengths_B, jnp.int32),
                            jnp.asarray(ref_lengths_B, jnp.int32), frame_cost)


# --------------------------------------------------------------------------
# The optimal path itself (alignment-based metrics, e.g. the recogniser
# after DTW alignment): the accumulated-cost matrix in JAX, the backtrack on
# the host. Same recursion and tie order as `dtw_accumulated`.


def accumulated_matrix(hyp_HxD: jax.Array, ref_RxD: jax.Array,
                       frame_cost: FrameCost = mje_frame_cost) -> jax.Array:
  """[R, H] accumulated cost of every cell (padding cannot reach a cell
  (i, j) inside the lengths: its value depends on smaller i, j only)."""
  num_r, num_h = ref_RxD.shape[0], hyp_HxD.shape[0]
  rows_R = jnp.arange(num_r)
  inf = jnp.array(jnp.inf, jnp.float32)

  def shift(x_R):
    return jnp.concatenate([jnp.full((1,), inf), x_R[:-1]])

  def step(carry, k):
    d_km1, d_km2 = carry
    cols_R = k - rows_R
    in_grid_R = (cols_R >= 0) & (cols_R < num_h)
    cost_R = frame_cost(ref_RxD, hyp_HxD[jnp.clip(cols_R, 0, num_h - 1)])
    best_R = jnp.minimum(shift(d_km2), jnp.minimum(shift(d_km1), d_km1))
    best_R = jnp.where((k == 0) & (rows_R == 0), 0.0, best_R)
    d_k = jnp.where(in_grid_R, cost_R.astype(jnp.float32) + best_R, inf)
    return (d_k, d_km1), d_k

  init = (jnp.full((num_r,), inf), jnp.full((num_r,), inf))
  _, d_KxR = jax.lax.scan(step, init, jnp.arange(num_r + num_h - 1))
  cols_H = jnp.arange(num_h)
  return d_KxR[rows_R[:, None] + cols_H[None], rows_R[:, None]]


@functools.partial(jax.jit, static_argnames=("frame_cost",))
def _matrix_batch(hyp_BxHxD, ref_BxRxD, frame_cost):
  return jax.vmap(accumulated_matrix, in_axes=(0, 0, None))(
      hyp_BxHxD, ref_BxRxD, frame_cost)


def backtrack(d_RxH: np.ndarray, ref_len: int, hyp_len: int) -> np.ndarray:
  """[P, 2] (reference frame, hypothesis frame) pairs of the optimal path,
  from (0, 0) to (ref_len - 1, hyp_len - 1); diagonal, then up, then left
  win ties (as in `dtw_accumulated`)."""
  i, j = int(ref_len) - 1, int(hyp_len) - 1
  path = [(i, j)]
  while i > 0 or j > 0:
    diag = d_RxH[i - 1, j - 1] if i > 0 and j > 0 else np.inf
    up = d_RxH[i - 1, j] if i > 0 else np.inf
    left = d_RxH[i, j - 1] if j > 0 else np.inf
    if diag <= min(up, left):
      i, j = i - 1, j - 1
    elif up <= left:
      i -= 1
    else:
      j -= 1
    path.append((i, j))
  return np.array(path[::-1], np.int64)


def mje_paths(hyps: list[np.ndarray], refs: list[np.ndarray], *,
              batch_size: int = 32, multiple: int = 64) -> list[np.ndarray]:
  """The DTW-MJE optimal path ([P, 2], reference frame first) of each pair
  of [T, J, 3] poses; padded to multiples of `multiple` (few compiles)."""
  if len(hyps) != len(refs) or not hyps:
    raise ValueError(f"need equal, non-zero numbers of produced and "
                     f"reference poses, got {len(hyps)} and {len(refs)}")
  for name, seqs in (("hypothesis", hyps), ("reference", refs)):
    for k, s in enumerate(seqs):
      if np.ndim(s) != 3 or np.shape(s)[1:] != (skeleton.NUM_JOINTS, 3) or (
          not len(s)):
        raise ValueError(f"{name} {k}: expected [T >= 1, "
                         f"{skeleton.NUM_JOINTS}, 3], got {np.shape(s)}")
  longest = max(len(s) for s in list(hyps) + list(refs))
  t_pad = max(multiple, -(-longest // multiple) * multiple)

  def rows(seqs):  # coordinate-major, as mje_frame_cost reads them
    out = np.zeros((batch_size, t_pad, 3 * skeleton.NUM_JOINTS), np.float32)
    for b, s in enumerate(seqs):
      out[b, :len(s)] = np.swapaxes(np.asarray(s, np.float32), 1, 2).reshape(
          len(s), -1)
    return out

  paths = []
  for s in range(0, len(hyps), batch_size):
    h, r = hyps[s:s + batch_size], refs[s:s + batch_size]
    d = np.asarray(_matrix_batch(jnp.asarray(rows(h)), jnp.asarray(rows(r)),
                                 mje_frame_cost))
    paths += [backtrack(d[b], len(r[b]), len(h[b])) for b in range(len(h))]
  return paths


def map_spans(path_Px2: np.ndarray, spans_Sx2: np.ndarray) -> np.ndarray:
  """Reference spans [s, e) -> hypothesis spans through a DTW path: from the
  first to one past the last hypothesis frame matched to the span's frames
  (every reference frame is on the path, so no span comes out empty)."""
  path = np.asarray(path_Px2, np.int64).reshape(-1, 2)
  spans = np.asarray(spans_Sx2, np.int64).reshape(-1, 2)
  ref_len = int(path[:, 0].max()) + 1
  out = np.zeros_like(spans)
  for k, (s, e) in enumerate(spans):
    s, e = min(max(int(s), 0), ref_len - 1), min(max(int(e), 1), ref_len)
    hit = path[(path[:, 0] >= s) & (path[:, 0] < max(e, s + 1)), 1]
    out[k] = hit.min(), hit.max() + 1
  return out
