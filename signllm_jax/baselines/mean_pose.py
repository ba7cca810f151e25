"""The still baseline and the ceiling (pure numpy).

- `MeanPoseBaseline`: the mean training frame (per joint coordinate, NaN
  ignored), repeated. Timing: `predict(n_frames)` repeats it for the length
  asked; the evaluation passes the reference length (oracle timing, the same
  as PT's published DTW), and `predict()` without a length uses the rounded
  mean training length (for a fair comparison with a model that predicts its
  own length). DTW rewards such still, averaged poses: see
  evaluate/motion.py.
- `GroundTruthBaseline`: the reference itself (the metric's ceiling).
"""

from typing import Sequence

import numpy as np

from signllm_jax import skeleton


class MeanPoseBaseline:
  """The mean training frame, repeated."""

  def __init__(self):
    self.mean_frame_Jx3: np.ndarray | None = None
    self.mean_length: int | None = None

  def fit(self, train_poses: Sequence[np.ndarray]) -> "MeanPoseBaseline":
    if not train_poses:
      raise ValueError("MeanPoseBaseline.fit: no training poses")
    total = np.zeros((skeleton.NUM_JOINTS, 3), np.float64)
    count = np.zeros((skeleton.NUM_JOINTS, 3), np.int64)
    for i, pose in enumerate(train_poses):
      pose = skeleton.check_pose(pose, f"training pose {i}")
      finite = np.isfinite(pose)
      total += np.where(finite, pose, 0.0).sum(0)
      count += finite.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
      # A joint never observed stays NaN (missing), not 0.
      self.mean_frame_Jx3 = np.where(count > 0, total / count,
                                     np.nan).astype(np.float32)
    self.mean_length = max(1, int(round(np.mean([len(p)
                                                  for p in train_poses]))))
    return self

  def predict(self, n_frames: int | None = None) -> np.ndarray:
    """[n_frames, J, 3]; the mean training length when n_frames is None."""
    if self.mean_frame_Jx3 is None:
      raise ValueError("MeanPoseBaseline.predict called before fit")
    n = self.mean_length if n_frames is None else int(n_frames)
    if n < 1:
      raise ValueError(f"MeanPoseBaseline.predict: n_frames={n} < 1")
    return np.repeat(self.mean_frame_Jx3[None], n, axis=0)


class GroundTruthBaseline:
  """The ground truth itself: the ceiling of every metric."""

  def predict(self, reference_pose: np.ndarray) -> np.ndarray:
    return skeleton.check_pose(reference_pose, "reference pose").copy()
