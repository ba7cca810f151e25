"""2D OpenPose keypoints -> 3D skeleton, a JAX port of the authors' lifting.

Over ~400 lines on purpose: normalisation, pruning, interpolation and the
optimisation are one port of one published procedure, read side by side.

Steps 2-4 of the video-keypoint pipeline (PAPER.md), after Zelinka & Kanis
(WACV 2020) as shipped in the authors' `tools/2D_to_3D` (pose2D.py,
pose2Dto3D.py, pose3D.py):

1. `normalise_2d`: subtract the per-axis mean, divide by ONE standard
   deviation of the pooled x and y values. As the authors do, the statistics
   include undetected points (x = y = 0, confidence 0) unless
   `LiftConfig.normalise_observed_only` is set.
2. `prune_frames`: a frame whose mean confidence over body joints 0-7 is
   below 0.3 gets weight 0 for every joint (it stays in the clip).
3. `interpolate`: every point becomes the confidence-weighted mean over the
   smallest symmetric window [t - d, t + d] whose weights sum to >= 0.99, so
   pruned and undetected points are re-filled from their neighbours and
   low-confidence points are smoothed. The frame count is kept: output
   T == input T (the no-person frames were dropped earlier, by the reader).
4. `initial_log_lengths` / `initialise`: log of the (lower) median 2D length
   per bone class (left and right share a class, skeleton.BONE_CLASSES);
   root = joint 0 (nose) at its 2D position and depth 0 (plus +-0.001
   uniform noise, as the authors); each bone points from its parent's
   initial 3D position to its child's 2D target, with the missing depth
   sqrt(L^2 - d^2) taken >= 0 (+0.001), i.e. z >= 0 away from the root.
5. `optimise`: gradient descent (plain SGD, lr 0.1, 1000 steps like the
   authors' tf.train.GradientDescentOptimizer; Adam selectable) on log bone
   lengths per class, per-frame root xyz and per-frame bone direction
   vectors, minimising
     sum(w * |proj - target|^2) / (T * J)               (weighted 2D MSE)
     + 0.001 * sum_classes(bone length)
     + 0.1 * sum |p_t+1 - p_t|^2 / ((T - 1) * J)         (smoothness),
   all in one jitted `lax.scan`. Because the loss is a mean over T x J,
   plain SGD moves the per-frame variables very little: the result is
   mostly the initialisation with refined body-bone lengths (measured on
   How2Sign: loss 0.0124 -> 0.0100 over 1000 steps), as in the authors'
   tool. The lengths stay near the median 2D length, so in about a third of
   (bone, frame) pairs the detected 2D bone is >10% longer than the 3D one
   (`bone_2d_excess_B`).

Deviations from the authors' code, each a fix of a degenerate case: the bone
length median only uses frames where both ends were detected (falls back to
all frames if none were); a target exactly on its parent starts the bone
pointing straight into depth; sigma is floored at 1e-10 (the authors' floor
has a typo and never applies).

Output units and axes: the normalised 2D space (1 unit = `scale` pixels,
origin at `mean_2d`), x right, y down (image axes), z depth, the nose being
the shallowest point at initialisation. These are the values Prompt2Sign
writes times 9, i.e. the project's internal pose convention. Joints never
detected in the clip are NaN (`LiftConfig.nan_unobserved`).

Clips are padded to a few frame-count buckets (masked out of every term) so
that converting many clips compiles only a handful of times.
"""

import dataclasses
import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

from signllm_jax import skeleton

NUM_BONES = len(skeleton.BONES)
NUM_CLASSES = len(skeleton.BONE_CLASSES)
PARENT_B = np.array([p for p, _ in skeleton.BONES])
CHILD_B = np.array([c for _, c in skeleton.BONES])
CLASS_B = np.array(skeleton.BONE_CLASS_OF_BONE)
WATCHED_JOINTS = tuple(range(skeleton.NUM_BODY))  # joints 0-7 for pruning


def _ancestor_matrix() -> np.ndarray:
  """[J, B]: 1 where bone b lies on the path from the root to joint j."""
  a_JxB = np.zeros((skeleton.NUM_JOINTS, NUM_BONES), np.float32)
  for b, (parent, child) in enumerate(skeleton.BONES):
    a_JxB[child] = a_JxB[parent]
    a_JxB[child, b] = 1.0
  return a_JxB


ANCESTOR_JxB = _ancestor_matrix()


@dataclasses.dataclass(frozen=True)
class LiftConfig:
  """Settings of the lifting; the defaults are the authors'."""
  steps: int = 1000
  learning_rate: float = 0.1
  optimizer: str = "sgd"  # "sgd" (the authors') or "adam"
  bone_length_weight: float = 0.001
  smoothness_weight: float = 0.1
  prune_threshold: float = 0.3
  interpolation_threshold: float = 0.99
  init_noise: float = 0.001
  seed: int = 1234
  normalise_observed_only: bool = False
  nan_unobserved: bool = True


def normalise_2d(xy_TxJx2, valid_TxJ):
  """Per-axis mean, one pooled std over x and y (authors' pose2D.py).

  Args:
    xy_TxJx2: 2D points.
    valid_TxJ: which entries enter the statistics (float or bool).

  Returns:
    (normalised points, mean_2 per axis, scalar sigma).
  """
  m_TxJ = valid_TxJ.astype(xy_TxJx2.dtype)
  n = jnp.maximum(m_TxJ.sum(), 1.0)
  mean_2 = (m_TxJ[..., None] * xy_TxJx2).sum((0, 1)) / n
  pooled_mean = mean_2.mean()
  var = (m_TxJ[..., None] * (xy_TxJx2 - pooled_mean) ** 2).sum() / (2 * n)
  sigma = jnp.sqrt(jnp.maximum(var, 1e-10))
  return (xy_TxJx2 - mean_2) / sigma, mean_2, sigma


def prune_frames(conf_TxJ, threshold=0.3, watched=WATCHED_JOINTS):
  """Zero weights of frames whose mean watched confidence is < threshold.

  Returns:
    (weights_TxJ, keep_T bool).
  """
  keep_T = conf_TxJ[:, np.array(watched)].mean(axis=1) >= threshold
  return conf_TxJ * keep_T[:, None], keep_T


def interpolate(xy_TxJx2, w_TxJ, threshold=0.99):
  """Confidence-weighted temporal interpolation (authors' pose2D.py).

  Each point becomes sum(w x) / sum(w) over the smallest window [t-d, t+d]
  (clipped to the clip) with sum(w) >= threshold, or over the whole clip if
  none reaches it; a point with zero weight in the whole clip becomes 0.
  Vectorised: window sums from cumulative sums, d by binary search.
  """
  num_t = xy_TxJx2.shape[0]
  zeros = jnp.zeros_like(w_TxJ[:1])
  cw_TxJ = jnp.concatenate([zeros, jnp.cumsum(w_TxJ, axis=0)])
  cwx_TxJx2 = jnp.concatenate(
      [zeros[..., None].repeat(2, -1),
       jnp.cumsum(w_TxJ[..., None] * xy_TxJx2, axis=0)])
  t_Tx1 = jnp.arange(num_t)[:, None]

  def bounds(d_TxJ):
    return (jnp.minimum(t_Tx1 + d_TxJ, num_t - 1) + 1,
            jnp.maximum(t_Tx1 - d_TxJ, 0))

  def window_weight(d_TxJ):
    hi, lo = bounds(d_TxJ)
    return (jnp.take_along_axis(cw_TxJ, hi, 0)
            - jnp.take_along_axis(cw_TxJ, lo, 0))

  def search(_, lo_hi):
    lo, hi = lo_hi
    mid = (lo + hi) // 2
    ok = window_weight(mid) >= threshold
    return jnp.where(ok, lo, mid + 1), jnp.where(ok, mid, hi)

  init = (jnp.zeros(w_TxJ.shape, jnp.int32),
          jnp.full(w_TxJ.shape, num_t - 1, jnp.int32))
  _, d_TxJ = jax.lax.fori_loop(0, max(1, math.ceil(math.log2(num_t)) + 1),
                               search, init)
  hi, lo = bounds(d_TxJ)
  sum_w = window_weight(d_TxJ)
  sum_wx = (jnp.take_along_axis(cwx_TxJx2, hi[..., None], 0)
            - jnp.take_along_axis(cwx_TxJx2, lo[..., None], 0))
  # The authors floor the weight sum at 1e-10; cumulative-sum round-off
  # can leave tiny non-zero sums, so treat those as empty too.
  sum_w = jnp.where(sum_w <= 1e-6, 1e-10, sum_w)
  return sum_wx / sum_w[..., None]


def bone_lengths_2d(xy_TxJx2):
  """[T, B] 2D length of every bone."""
  return jnp.linalg.norm(xy_TxJx2[:, CHILD_B] - xy_TxJx2[:, PARENT_B], axis=-1)


def initial_log_lengths(xy_TxJx2, detected_TxJ, valid_T):
  """Log of the lower median 2D length per bone class ([C]).

  Samples are frames where both ends are detected; a class without such a
  sample uses all valid frames (the authors use all frames always).
  """
  len_TxB = bone_lengths_2d(xy_TxJx2)
  both_TxB = (detected_TxJ[:, CHILD_B] & detected_TxJ[:, PARENT_B]
              & valid_T[:, None])
  logs = []
  for c in range(NUM_CLASSES):
    bones = np.flatnonzero(CLASS_B == c)
    vals = len_TxB[:, bones].reshape(-1)
    ok = both_TxB[:, bones].reshape(-1)
    ok = jnp.where(ok.any(), ok, jnp.repeat(valid_T, len(bones)))
    n = ok.sum()
    ordered = jnp.sort(jnp.where(ok, vals, jnp.inf))
    median = ordered[jnp.maximum((n - 1) // 2, 0)]
    logs.append(jnp.log(jnp.maximum(median, 1e-6)))
  return jnp.stack(logs)


def initialise(xy_TxJx2, log_len_C, key, noise=0.001):
  """Initial parameters: each bone aims at its child's 2D target.

  Returns:
    {"log_len_C": [C], "root_Tx3": [T, 3], "dir_TxBx3": [T, B, 3]}.
  """
  num_t = xy_TxJx2.shape[0]
  root_Tx3 = jnp.concatenate([xy_TxJx2[:, 0], jnp.zeros((num_t, 1))], -1)
  root_Tx3 += jax.random.uniform(key, root_Tx3.shape, minval=-noise,
                                 maxval=noise)
  pos = [None] * skeleton.NUM_JOINTS
  pos[0] = root_Tx3
  dirs = []
  for b, (parent, child) in enumerate(skeleton.BONES):
    length = jnp.exp(log_len_C[CLASS_B[b]])
    d_Tx2 = xy_TxJx2[:, child] - pos[parent][:, :2]
    dz_T = jnp.sqrt(jnp.maximum(length ** 2 - (d_Tx2 ** 2).sum(-1), 0.0))
    dir_Tx3 = jnp.concatenate([d_Tx2, dz_T[:, None] + 0.001], -1)
    dir_Tx3 /= jnp.linalg.norm(dir_Tx3, axis=-1, keepdims=True) + 1e-10
    dirs.append(dir_Tx3)
    pos[child] = pos[parent] + length * dir_Tx3
  return dict(log_len_C=log_len_C, root_Tx3=root_Tx3,
              dir_TxBx3=jnp.stack(dirs, axis=1))


def forward(params):
  """[T, J, 3] joint positions from lengths, root and directions."""
  dir_TxBx3 = params["dir_TxBx3"]
  unit_TxBx3 = dir_TxBx3 / (
      jnp.linalg.norm(dir_TxBx3, axis=-1, keepdims=True) + 1e-10)
  length_B = jnp.exp(params["log_len_C"])[CLASS_B]
  offset_TxBx3 = length_B[None, :, None] * unit_TxBx3
  return (params["root_Tx3"][:, None, :]
          + jnp.einsum("jb,tbc->tjc", ANCESTOR_JxB, offset_TxBx3))


def loss_terms(params, target_TxJx2, w_TxJ, valid_T):
  """(reprojection MSE, sum of bone lengths, smoothness), padding masked."""
  pose_TxJx3 = forward(params)
  num_j = pose_TxJx3.shape[1]
  n_valid = valid_T.sum()
  err_TxJ = ((pose_TxJx3[..., :2] - target_TxJx2) ** 2).sum(-1)
  reprojection = (w_TxJ * err_TxJ).sum() / (jnp.maximum(n_valid, 1) * num_j)
  lengths = jnp.exp(params["log_len_C"]).sum()
  pair_T = valid_T[1:] & valid_T[:-1]
  disp_TxJ = ((pose_TxJx3[1:] - pose_TxJx3[:-1]) ** 2).sum(-1)
  smooth = (pair_T[:, None] * disp_TxJ).sum() / (
      jnp.maximum(n_valid - 1, 1) * num_j)
  return reprojection, lengths, smooth


def optimise(params, target_TxJx2, w_TxJ, valid_T, config: LiftConfig):
  """Runs the gradient descent; returns (params, loss curve [steps])."""
  if config.optimizer == "sgd":
    tx = optax.sgd(config.learning_rate)
  elif config.optimizer == "adam":
    tx = optax.adam(config.learning_rate)
  else:
    raise ValueError(f"unknown optimizer {config.optimizer!r} "
                     "(expected 'sgd' or 'adam')")

  def total(p):
    rep, lengths, smooth = loss_terms(p, target_TxJx2, w_TxJ, valid_T)
    return (rep + config.bone_length_weight * lengths
            + config.smoothness_weight * smooth)

  def step(carry, _):
    p, opt_state = carry
    value, grads = jax.value_and_grad(total)(p)
    updates, opt_state = tx.update(grads, opt_state, p)
    return (optax.apply_updates(p, updates), opt_state), value

  (params, _), curve = jax.lax.scan(step, (params, tx.init(params)), None,
                                    length=config.steps)
  return params, curve


@functools.partial(jax.jit, static_argnames=("config",))
def _lift(xyc_TxJx3, valid_T, config: LiftConfig):
  conf_TxJ = xyc_TxJx3[..., 2] * valid_T[:, None]
  detected_TxJ = conf_TxJ > 0
  stats_TxJ = (detected_TxJ if config.normalise_observed_only
               else jnp.broadcast_to(valid_T[:, None], conf_TxJ.shape))
  xy_TxJx2, mean_2, sigma = normalise_2d(xyc_TxJx3[..., :2], stats_TxJ)
  w_TxJ, keep_T = prune_frames(conf_TxJ, config.prune_threshold)
  keep_T &= valid_T
  target_TxJx2 = interpolate(xy_TxJx2, w_TxJ, config.interpolation_threshold)
  log_len_C = initial_log_lengths(target_TxJx2, detected_TxJ, valid_T)
  params = initialise(target_TxJx2, log_len_C,
                      jax.random.key(config.seed), config.init_noise)
  params, curve = optimise(params, target_TxJx2, w_TxJ, valid_T, config)
  final = loss_terms(params, target_TxJx2, w_TxJ, valid_T)
  return dict(pose_TxJx3=forward(params), xy_TxJx2=xy_TxJx2,
              target_TxJx2=target_TxJx2, weight_TxJ=w_TxJ, keep_T=keep_T,
              mean_2=mean_2, sigma=sigma,
              bone_length_B=jnp.exp(params["log_len_C"])[CLASS_B],
              initial_bone_length_B=jnp.exp(log_len_C)[CLASS_B],
              loss_curve=curve, final_terms=jnp.stack(final))


def padded_length(num_t: int) -> int:
  """Frame-count bucket: a multiple of max(32, 2^floor(log2 T) / 8)."""
  quantum = max(32, 2 ** max(0, int(math.log2(max(num_t, 1))) - 3))
  return -(-num_t // quantum) * quantum


@dataclasses.dataclass(frozen=True)
class LiftResult:
  """A lifted clip and its diagnostics (numpy arrays, T real frames).

  Attributes:
    pose_TxJx3: 3D joints in normalised units (internal convention); NaN
      for joints never detected in the clip (if `nan_unobserved`).
    target_TxJx2: the normalised, interpolated 2D targets.
    weight_TxJ: confidences after pruning (the reprojection weights).
    pruned_T: frames pruned (weight 0, re-filled by interpolation).
    mean_2d, scale: pixels = normalised * scale + mean_2d.
    bone_length_B: the 3D length of each bone (shared over frames).
    initial_bone_length_B: the median-2D initial lengths.
    loss_curve: total loss before each step.
    final_terms: reprojection MSE, sum of class lengths, smoothness at end.
    reprojection_error_T: per frame, mean 2D distance (normalised units)
      between the projected 3D joints and the detected joints (confidence
      > 0); NaN where none was detected.
    bone_length_cv_B: per bone, coefficient of variation of the 3D length
      across frames (0 up to round-off: lengths are shared by design).
    bone_2d_over_3d_B: per bone, median over frames with both ends
      detected of detected 2D length / 3D length (<= 1 if consistent with
      an orthographic projection); NaN without such frames.
    bone_2d_excess_B: per bone, fraction of those frames where the detected
      2D length exceeds the 3D length by more than 10%.
    unobserved_joints: joints with zero confidence in every frame.
  """
  pose_TxJx3: np.ndarray
  target_TxJx2: np.ndarray
  weight_TxJ: np.ndarray
  pruned_T: np.ndarray
  mean_2d: np.ndarray
  scale: float
  bone_length_B: np.ndarray
  initial_bone_length_B: np.ndarray
  loss_curve: np.ndarray
  final_terms: np.ndarray
  reprojection_error_T: np.ndarray
  bone_length_cv_B: np.ndarray
  bone_2d_over_3d_B: np.ndarray
  bone_2d_excess_B: np.ndarray
  unobserved_joints: tuple[int, ...]

  @property
  def reprojection_error(self) -> float:
    """Mean per-frame 2D error over frames not pruned (normalised units)."""
    errs = self.reprojection_error_T[~self.pruned_T]
    errs = errs[np.isfinite(errs)]
    return float(errs.mean()) if errs.size else float("nan")

  def summary(self) -> dict[str, float]:
    """Scalars for reports."""
    ratio = self.bone_2d_over_3d_B[np.isfinite(self.bone_2d_over_3d_B)]
    return {
        "frames": int(self.pose_TxJx3.shape[0]),
        "pruned_frames": int(self.pruned_T.sum()),
        "reprojection_error": self.reprojection_error,
        "reprojection_error_px": self.reprojection_error * self.scale,
        "bone_length_cv_max": float(np.nanmax(self.bone_length_cv_B)),
        "bone_2d_over_3d_median": (float(np.median(ratio)) if ratio.size
                                   else float("nan")),
        "bone_2d_excess_mean": float(np.nanmean(self.bone_2d_excess_B)),
        "final_loss": float(self.loss_curve[-1]) if self.loss_curve.size
                      else float("nan"),
        "unobserved_joints": len(self.unobserved_joints),
    }


def lift_clip(xyc_TxJx3: np.ndarray,
              config: LiftConfig = LiftConfig()) -> LiftResult:
  """Lifts one clip of 2D (x, y, confidence) points [T, 50, 3] to 3D.

  The input is the reader's output (no-person frames already dropped);
  the output has the same T.
  """
  xyc_TxJx3 = np.asarray(xyc_TxJx3, np.float32)
  if xyc_TxJx3.ndim != 3 or xyc_TxJx3.shape[1:] != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"expected [T, {skeleton.NUM_JOINTS}, 3] (x, y, "
                     f"confidence), got shape {xyc_TxJx3.shape}")
  num_t = xyc_TxJx3.shape[0]
  if num_t == 0:
    raise ValueError("cannot lift a clip with no frames")
  if not np.isfinite(xyc_TxJx3).all():
    raise ValueError("non-finite 2D input")
  pad = padded_length(num_t) - num_t
  padded = np.pad(xyc_TxJx3, ((0, pad), (0, 0), (0, 0)))
  valid_T = np.arange(num_t + pad) < num_t
  out = jax.device_get(_lift(padded, valid_T, config))
  out = {k: (v[:num_t] if np.ndim(v) and v.shape[0] == num_t + pad else v)
         for k, v in out.items()}
  pose_TxJx3 = np.array(out["pose_TxJx3"], np.float32)  # writable copy
  detected_TxJ = xyc_TxJx3[..., 2] > 0
  xy_TxJx2 = out["xy_TxJx2"]
  err_TxJ = np.linalg.norm(pose_TxJx3[..., :2] - xy_TxJx2, axis=-1)
  with np.errstate(invalid="ignore"):
    reproj_T = (np.where(detected_TxJ, err_TxJ, 0).sum(1)
                / detected_TxJ.sum(1))
  len3d_TxB = np.linalg.norm(pose_TxJx3[:, CHILD_B] - pose_TxJx3[:, PARENT_B],
                             axis=-1)
  cv_B = len3d_TxB.std(0) / np.maximum(len3d_TxB.mean(0), 1e-12)
  both_TxB = detected_TxJ[:, CHILD_B] & detected_TxJ[:, PARENT_B]
  ratio_TxB = np.asarray(bone_lengths_2d(xy_TxJx2)) / np.maximum(
      len3d_TxB, 1e-12)
  ratio_TxB = np.where(both_TxB, ratio_TxB, np.nan)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    ratio_B = np.nanmedian(ratio_TxB, axis=0)
    excess_B = np.where(both_TxB.any(0),
                        (np.nan_to_num(ratio_TxB) > 1.1).sum(0)
                        / np.maximum(both_TxB.sum(0), 1), np.nan)
  unobserved = tuple(int(j) for j in np.flatnonzero(~detected_TxJ.any(0)))
  if config.nan_unobserved and unobserved:
    pose_TxJx3[:, list(unobserved)] = np.nan
  return LiftResult(
      pose_TxJx3=pose_TxJx3,
      target_TxJx2=np.asarray(out["target_TxJx2"]),
      weight_TxJ=np.asarray(out["weight_TxJ"]),
      pruned_T=~np.asarray(out["keep_T"]),
      mean_2d=np.asarray(out["mean_2"]),
      scale=float(out["sigma"]),
      bone_length_B=np.asarray(out["bone_length_B"]),
      initial_bone_length_B=np.asarray(out["initial_bone_length_B"]),
      loss_curve=np.asarray(out["loss_curve"]),
      final_terms=np.asarray(out["final_terms"]),
      reprojection_error_T=reproj_T.astype(np.float32),
      bone_length_cv_B=cv_B.astype(np.float32),
      bone_2d_over_3d_B=ratio_B.astype(np.float32),
      bone_2d_excess_B=excess_B.astype(np.float32),
      unobserved_joints=unobserved)
