"""Hand motion: how much the produced hands move, relative to the truth.

DTW rewards still, averaged poses (a mean-pose baseline scores well on it);
the hand-motion ratio exposes that: a still output scores 0, a faithful one
about 1.

hand motion of one sequence = mean over consecutive frame pairs (t-1, t) and
over the 42 hand joints (both hands) of the Euclidean displacement
||p_t - p_{t-1}||, in skeleton units per frame; a joint missing (NaN) in
either frame of a pair is left out of the mean. A sequence with fewer than two
frames (or no joint seen twice in a row) has no motion value (NaN).

ratio = mean hand motion of the produced sequences / mean hand motion of the
ground-truth sequences (a ratio of corpus means, so sequences with little
motion do not blow up the value); sequences without a motion value are left
out of their mean (NaN if no produced sequence has one).

hand travel (SLRTP 2025's "total distance") of one sequence = the hands'
path length: the sum over consecutive frame pairs and over the 42 hand
joints of ||p_t - p_{t-1}||, in skeleton units (a pair with the joint NaN
in either frame adds nothing). Unlike the hand motion above it is not
divided by the length, so a production that signs at the right speed but
for too long travels too far.

travel ratio = total hand travel of the produced sequences / total of the
ground truth (corpus totals, like the ratio above): still poses score 0,
the ground truth 1, a production moving twice as far 2.
"""

from typing import Sequence

import numpy as np

from signllm_jax import skeleton

HAND_JOINTS = np.r_[skeleton.LEFT_HAND, skeleton.RIGHT_HAND]


def hand_motion(pose_TxJx3: np.ndarray, length: int | None = None) -> float:
  """Mean frame-to-frame hand-joint displacement (NaN if undefined)."""
  pose_TxJx3 = np.asarray(pose_TxJx3, np.float64)
  if pose_TxJx3.ndim != 3 or pose_TxJx3.shape[1:] != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"pose must be [T, {skeleton.NUM_JOINTS}, 3], got "
                     f"{pose_TxJx3.shape}")
  if length is not None:
    pose_TxJx3 = pose_TxJx3[:length]
  hands_TxHx3 = pose_TxJx3[:, HAND_JOINTS]
  step_TxH = np.linalg.norm(np.diff(hands_TxHx3, axis=0), axis=-1)
  valid = np.isfinite(step_TxH)
  if not valid.any():
    return float("nan")
  return float(step_TxH[valid].mean())


def hand_motion_batch(pose_BxTxJx3: np.ndarray,
                      lengths_B: Sequence[int]) -> np.ndarray:
  """`hand_motion` for each padded sequence: [B]."""
  return np.array([hand_motion(p, int(n))
                   for p, n in zip(pose_BxTxJx3, lengths_B)])


def hand_motion_ratio(produced: Sequence[np.ndarray],
                      references: Sequence[np.ndarray]) -> float:
  """Corpus hand-motion ratio produced / ground truth (see module doc)."""
  if len(produced) != len(references):
    raise ValueError(f"{len(produced)} produced but {len(references)} "
                     "reference sequences")
  prod = np.array([hand_motion(p) for p in produced])
  ref = np.array([hand_motion(r) for r in references])
  if not np.isfinite(ref).any():
    raise ValueError("no reference sequence has measurable hand motion")
  ref_mean = np.nanmean(ref)
  if ref_mean == 0:
    raise ValueError("the references have zero hand motion: ratio undefined")
  if not np.isfinite(prod).any():
    return float("nan")
  prod_mean = np.nanmean(prod)
  return float(prod_mean / ref_mean)


def hand_travel(pose_TxJx3: np.ndarray) -> float:
  """Summed frame-to-frame displacement of the 42 hand joints (>= 0)."""
  pose_TxJx3 = np.asarray(pose_TxJx3, np.float64)
  if pose_TxJx3.ndim != 3 or pose_TxJx3.shape[1:] != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"pose must be [T, {skeleton.NUM_JOINTS}, 3], got "
                     f"{pose_TxJx3.shape}")
  step_TxH = np.linalg.norm(np.diff(pose_TxJx3[:, HAND_JOINTS], axis=0),
                            axis=-1)
  return float(np.sum(step_TxH[np.isfinite(step_TxH)]))


def hand_travel_ratio(produced: Sequence[np.ndarray],
                      references: Sequence[np.ndarray]) -> float:
  """Corpus hand-travel ratio produced / ground truth (see module doc)."""
  if len(produced) != len(references):
    raise ValueError(f"{len(produced)} produced but {len(references)} "
                     "reference sequences")
  ref = sum(hand_travel(r) for r in references)
  if ref == 0:
    raise ValueError("the references' hands never move: hand-travel ratio "
                     "undefined")
  return float(sum(hand_travel(p) for p in produced) / ref)
