"""Pose normalisation: internal `pose_TxJx3` <-> model frames `frames_TxF`.

A frame is F = 151 floats: the 50 joints' (x, y, z) after subtracting the
per-joint mean pose and dividing by one global std (computed on the train
split), flattened joint-major, then the internal progress counter (i+1)/T.
Missing joints (NaN internally) become 0 after normalisation, i.e. the mean
pose, so the model never sees NaN; `from_frames` therefore returns the mean
for them (the information that a joint was missing is not in the frames).

`to_frames`/`from_frames` work on numpy and on jax arrays (same namespace
out as in), so the model and generation code can use `from_frames` under jit.
"""

from collections.abc import Iterable
import dataclasses
from typing import Any

import numpy as np

from signllm_jax import skeleton

J = skeleton.NUM_JOINTS
F = skeleton.FRAME_DIM


def _xp(x):
  """numpy for numpy input, jax.numpy for jax arrays/tracers."""
  if isinstance(x, np.ndarray) or np.isscalar(x):
    return np
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  return jnp


@dataclasses.dataclass(frozen=True)
class PoseStats:
  """Mean pose [J, 3] and one global std, in internal (skeleton) units."""
  mean_Jx3: np.ndarray
  std: float

  def __post_init__(self):
    mean = np.asarray(self.mean_Jx3, np.float32)
    if mean.shape != (J, 3):
      raise ValueError(f"PoseStats.mean_Jx3 must be [{J}, 3], got {mean.shape}")
    if not np.all(np.isfinite(mean)):
      raise ValueError("PoseStats.mean_Jx3 has non-finite values")
    if not (np.isfinite(self.std) and self.std > 0):
      raise ValueError(f"PoseStats.std must be finite and > 0, got {self.std}")
    object.__setattr__(self, "mean_Jx3", mean)
    object.__setattr__(self, "std", float(self.std))

  def to_dict(self) -> dict[str, Any]:
    """A json-able dict."""
    return {"mean_Jx3": self.mean_Jx3.tolist(), "std": self.std}

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> "PoseStats":
    return cls(np.asarray(d["mean_Jx3"], np.float32), float(d["std"]))

  @classmethod
  def identity(cls) -> "PoseStats":
    """Zero mean, unit std: frames carry the internal coordinates."""
    return cls(np.zeros((J, 3), np.float32), 1.0)


class StatsAccumulator:
  """Streams poses in, NaN-aware; two moments in float64 (no list kept)."""

  def __init__(self):
    self._sum_Jx3 = np.zeros((J, 3), np.float64)
    self._sumsq_Jx3 = np.zeros((J, 3), np.float64)
    self._count_Jx3 = np.zeros((J, 3), np.int64)

  def add(self, pose_TxJx3: np.ndarray) -> None:
    pose = np.asarray(pose_TxJx3, np.float64)
    if pose.ndim != 3 or pose.shape[1:] != (J, 3):
      raise ValueError(f"pose must be [T, {J}, 3], got {pose.shape}")
    valid = np.isfinite(pose)
    pose = np.where(valid, pose, 0.0)
    self._sum_Jx3 += pose.sum(0)
    self._sumsq_Jx3 += (pose * pose).sum(0)
    self._count_Jx3 += valid.sum(0)

  def result(self) -> PoseStats:
    count = self._count_Jx3
    if count.sum() == 0:
      raise ValueError("no valid joint values to compute pose statistics")
    # A joint never observed gets mean 0 (it is always NaN -> 0 anyway).
    mean = np.where(count > 0, self._sum_Jx3 / np.maximum(count, 1), 0.0)
    # Global variance around the per-joint means: sum of (x - m)^2 over
    # all valid values = sumsq - n m^2 per joint coordinate.
    sq_dev = self._sumsq_Jx3 - count * mean * mean
    var = max(float(sq_dev.sum()) / float(count.sum()), 0.0)
    std = float(np.sqrt(var))
    if std <= 1e-8:
      std = 1.0  # constant poses: keep the scale rather than divide by 0
    return PoseStats(mean.astype(np.float32), std)


def compute_stats(poses: Iterable[np.ndarray]) -> PoseStats:
  """Per-joint mean pose and one global std over all valid values."""
  acc = StatsAccumulator()
  for pose in poses:
    acc.add(pose)
  return acc.result()


def counter(num_frames: int, xp=np):
  """Internal progress counter (i+1)/T for i = 0..T-1 (last frame = 1.0)."""
  return (xp.arange(num_frames, dtype=xp.float32) + 1) / num_frames


def to_frames(pose_TxJx3, stats: PoseStats):
  """Normalised, flattened frames with the counter appended: [T, 151]."""
  xp = _xp(pose_TxJx3)
  if pose_TxJx3.ndim != 3 or tuple(pose_TxJx3.shape[1:]) != (J, 3):
    raise ValueError(f"pose must be [T, {J}, 3], got {pose_TxJx3.shape}")
  t = pose_TxJx3.shape[0]
  if t == 0:
    raise ValueError("pose has no frames")
  norm_TxJx3 = (pose_TxJx3.astype(xp.float32) - stats.mean_Jx3) / xp.float32(
      stats.std)
  norm_TxJx3 = xp.where(xp.isnan(norm_TxJx3), xp.float32(0), norm_TxJx3)
  return xp.concatenate(
      [norm_TxJx3.reshape(t, J * 3), counter(t, xp)[:, None]], axis=1)


def from_frames(frames_TxF, stats: PoseStats):
  """Inverse of `to_frames` on the joints (the counter is dropped)."""
  xp = _xp(frames_TxF)
  if frames_TxF.shape[-1] != F:
    raise ValueError(f"frames must have {F} values, got {frames_TxF.shape}")
  joints = frames_TxF[..., :J * 3].reshape(*frames_TxF.shape[:-1], J, 3)
  return (joints.astype(xp.float32) * xp.float32(stats.std)
          + stats.mean_Jx3)
