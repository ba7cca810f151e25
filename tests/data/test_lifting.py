"""Tests for the 2D -> 3D lifting (normalisation, pruning, interpolation,
gradient-descent lifting on a synthetic skeleton)."""

import functools

import jax.numpy as jnp
import numpy as np
import pytest

from signllm_jax import skeleton
from signllm_jax.data import lifting

T = 20
# One config for every full lift here, so the jitted lift compiles once.
CONFIG = lifting.LiftConfig(steps=1000)


def _class_lengths(rng):
  lengths = {}
  for name in skeleton.BONE_CLASSES:
    lengths[name] = {"NOSE->NECK": 1.0, "NECK->SHOULDER": 0.9,
                     "SHOULDER->ELBOW": 1.3, "ELBOW->WRIST": 1.1,
                     "WRIST->HAND_WRIST": 0.15}.get(
                         name, rng.uniform(0.15, 0.45))
  return np.array([lengths[n] for n in skeleton.BONE_CLASSES])


def _in_plane_angles():
  """An image-plane angle per bone (y down): arms hang, fingers fan up."""
  body = {(0, 1): 90, (1, 2): 180, (1, 5): 0, (2, 3): 100, (5, 6): 80,
          (3, 4): -60, (6, 7): -120, (7, 8): -90, (4, 29): -90}
  angles = []
  for parent, child in skeleton.BONES:
    if (parent, child) in body:
      angles.append(body[(parent, child)])
    else:
      side = 1 if child < skeleton.RIGHT_HAND_ROOT else -1
      finger = ((child - skeleton.NUM_BODY) % skeleton.NUM_HAND - 1) // 4
      angles.append(-90 + side * (finger - 2) * 18)
  return np.deg2rad(np.array(angles, float))


@functools.lru_cache()
def synthetic_clip():
  """A skeleton whose bones all point away from the camera (z >= 0).

  Each bone's elevation out of the image plane swings between 0 and 25-45
  degrees over the clip, so every bone lies in the image plane in some
  frame; the root drifts a little. Returns (pose_TxJx3, class lengths).
  """
  rng = np.random.default_rng(0)
  length_C = _class_lengths(rng)
  phi_B = _in_plane_angles()
  theta_max_B = np.deg2rad(rng.uniform(25, 45, len(skeleton.BONES)))
  phase_B = rng.uniform(0, 2 * np.pi, len(skeleton.BONES))
  t_T = np.arange(T)[:, None]
  theta_TxB = theta_max_B * 0.5 * (1 - np.cos(2 * np.pi * t_T / T + phase_B))
  dir_TxBx3 = np.stack([np.cos(theta_TxB) * np.cos(phi_B),
                        np.cos(theta_TxB) * np.sin(phi_B),
                        np.sin(theta_TxB)], -1)
  offset_TxBx3 = length_C[lifting.CLASS_B][:, None] * dir_TxBx3
  root_Tx3 = np.stack([0.05 * np.sin(np.arange(T) / 3),
                       0.03 * np.cos(np.arange(T) / 4), np.zeros(T)], -1)
  pose_TxJx3 = root_Tx3[:, None] + np.einsum("jb,tbc->tjc",
                                             lifting.ANCESTOR_JxB,
                                             offset_TxBx3)
  return pose_TxJx3, length_C


def _pixels(pose_TxJx3, conf=1.0):
  """Orthographic projection into a 1280 x 720-like image."""
  xy_TxJx2 = pose_TxJx3[..., :2] * 100 + np.array([640, 300])
  conf_TxJx1 = np.full(pose_TxJx3.shape[:2] + (1,), conf)
  return np.concatenate([xy_TxJx2, conf_TxJx1], -1).astype(np.float32)


def test_normalise_against_hand_computed_values():
  xy = jnp.array([[[0., 0.], [2., 4.]], [[4., 8.], [6., 12.]]])
  out, mean_2, sigma = lifting.normalise_2d(xy, jnp.ones((2, 2), bool))
  # x mean 3, y mean 6; pooled values {0,2,4,6,0,4,8,12}: mean 4.5,
  # variance 118 / 8.
  np.testing.assert_allclose(mean_2, [3, 6])
  np.testing.assert_allclose(sigma, np.sqrt(118 / 8), rtol=1e-6)
  np.testing.assert_allclose(out, (np.array(xy) - [3, 6]) / np.sqrt(14.75),
                             rtol=1e-6)
  # Only the marked entries enter the statistics.
  _, mean_2, sigma = lifting.normalise_2d(
      xy, jnp.array([[True, True], [False, False]]))
  np.testing.assert_allclose(mean_2, [1, 2])
  np.testing.assert_allclose(sigma, np.sqrt(np.var([0, 2, 0, 4])), rtol=1e-6)


def test_prune_frames_on_body_confidence():
  conf = np.ones((4, 50), np.float32)
  conf[1, :8] = 0.2  # mean 0.2 < 0.3: pruned
  conf[2, :4] = 0.0  # mean 0.5: kept
  conf[3, 8:] = 0.0  # hands do not count
  conf[0, :8] = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.29]  # mean 0.29875
  w, keep = lifting.prune_frames(jnp.asarray(conf), 0.3)
  np.testing.assert_array_equal(keep, [False, False, True, True])
  np.testing.assert_array_equal(w[0], 0)
  np.testing.assert_array_equal(w[1], 0)
  np.testing.assert_array_equal(w[2:], conf[2:])


def _reference_interpolation(x, w, threshold):
  """The authors' loop (pose2D.interpolation) for one coordinate."""
  num_t, num_j = w.shape
  out = np.zeros_like(x)
  for t in range(num_t):
    for i in range(num_j):
      sum_px, sum_p, delta = w[t, i] * x[t, i], w[t, i], 0
      while sum_p < threshold:
        delta += 1
        changed = False
        for t2 in (t + delta, t - delta):
          if 0 <= t2 < num_t:
            sum_px += w[t2, i] * x[t2, i]
            sum_p += w[t2, i]
            changed = True
        if not changed:
          break
      out[t, i] = sum_px / (sum_p if sum_p > 0 else 1e-10)
  return out


def test_interpolation_hand_computed():
  x = np.array([0., 9., 9., 9., 4.])
  w = np.array([1., 0., 0., 0., 1.])
  xy = jnp.asarray(np.stack([x, -x], -1)[:, None, :])
  out = lifting.interpolate(xy, jnp.asarray(w[:, None]), 0.99)
  # Frame 1: window [0, 2] holds weight 1 at frame 0 -> 0. Frame 2: window
  # [0, 4] -> (0 + 4) / 2. Frame 3 -> 4.
  np.testing.assert_allclose(out[:, 0, 0], [0, 0, 2, 4, 4])
  np.testing.assert_allclose(out[:, 0, 1], [0, 0, -2, -4, -4])
  # Half-confident points are averaged with their neighbours.
  out = lifting.interpolate(jnp.asarray(np.array([[0.], [1.], [2.]])
                                        [:, :, None].repeat(2, -1)),
                            jnp.array([[1.], [0.5], [1.]]), 0.99)
  np.testing.assert_allclose(out[:, 0, 0], [0, 0.5 / 2.5 + 2 / 2.5, 2])
  # A point never seen becomes 0.
  out = lifting.interpolate(jnp.ones((3, 1, 2)), jnp.zeros((3, 1)), 0.99)
  np.testing.assert_array_equal(out, 0)


def test_interpolation_matches_authors_loop():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(37, 6)).astype(np.float32)
  w = rng.uniform(size=(37, 6)).astype(np.float32)
  w[rng.uniform(size=w.shape) < 0.5] = 0
  w[:, 5] = 0
  w[10:30, 4] = 0
  out = lifting.interpolate(jnp.asarray(np.stack([x, 2 * x], -1)),
                            jnp.asarray(w), 0.99)
  expected = _reference_interpolation(x, w, 0.99)
  np.testing.assert_allclose(out[..., 0], expected, atol=2e-5)
  np.testing.assert_allclose(out[..., 1], 2 * expected, atol=4e-5)


def test_forward_kinematics_keeps_lengths():
  pose, length_C = synthetic_clip()
  xy = jnp.asarray(pose[..., :2])
  log_len = jnp.log(jnp.asarray(length_C, jnp.float32))
  import jax  # pylint: disable=g-import-not-at-top
  params = lifting.initialise(xy, log_len, jax.random.key(0))
  out = lifting.forward(params)
  bone = np.linalg.norm(out[:, lifting.CHILD_B] - out[:, lifting.PARENT_B],
                        axis=-1)
  np.testing.assert_allclose(bone, np.broadcast_to(
      length_C[lifting.CLASS_B], bone.shape), rtol=1e-4)
  # The initial depth is never in front of the parent (z >= 0 convention).
  dz = out[:, lifting.CHILD_B, 2] - out[:, lifting.PARENT_B, 2]
  assert (dz > 0).all()


@functools.lru_cache()
def _lift_synthetic():
  pose, length_C = synthetic_clip()
  return lifting.lift_clip(_pixels(pose), CONFIG), pose, length_C


def test_lifting_recovers_bone_lengths():
  result, _, length_C = _lift_synthetic()
  # Back to the synthetic units: pixels / 100 (see _pixels).
  recovered_B = result.bone_length_B * result.scale / 100
  rel_err_B = np.abs(recovered_B / length_C[lifting.CLASS_B] - 1)
  # Measured: median 5.3%, max 9.5% (the lengths stay near the median 2D
  # length the authors initialise with).
  assert np.median(rel_err_B) < 0.08, np.round(rel_err_B, 3)
  assert rel_err_B.max() < 0.15, np.round(rel_err_B, 3)
  # Left and right share lengths; lengths are constant over frames.
  assert result.bone_length_cv_B.max() < 1e-5
  assert result.pose_TxJx3.shape == (T, 50, 3)
  assert result.loss_curve.shape == (CONFIG.steps,)
  assert result.loss_curve[-1] < result.loss_curve[0]
  assert result.reprojection_error < 0.05  # normalised units (~3 px)


def test_lifting_recovers_depth_order():
  result, pose, _ = _lift_synthetic()
  z_true_TxJ = pose[..., 2] - pose[:, :1, 2]
  z_rec_TxJ = result.pose_TxJx3[..., 2] - result.pose_TxJx3[:, :1, 2]
  # Every joint lies behind the root in truth and in the lifting (up to the
  # +-0.001 initial noise and the 0.001 depth offset per bone).
  assert (z_rec_TxJ[:, 1:] > -0.02).all()
  # Pairs of joints whose depths differ by more than a quarter (half) of an
  # upper arm keep their order (measured: 97.4% and 99.4%).
  dz_true = z_true_TxJ[:, :, None] - z_true_TxJ[:, None, :]
  dz_rec = z_rec_TxJ[:, :, None] - z_rec_TxJ[:, None, :]
  for separation, wanted in ((0.3, 0.95), (0.5, 0.98)):
    separated = np.abs(dz_true) > separation
    agree = np.sign(dz_true[separated]) == np.sign(dz_rec[separated])
    assert separated.sum() > 5000
    assert agree.mean() > wanted, (separation, agree.mean())
  # Depth magnitudes are only roughly right (sqrt(L^2 - d^2) is sensitive to
  # the few-percent length error; measured correlation 0.89).
  assert np.corrcoef(z_true_TxJ.ravel(), z_rec_TxJ.ravel())[0, 1] > 0.8


def test_pruned_frames_refilled_and_unseen_joints_nan():
  pose, _ = synthetic_clip()
  xyc = _pixels(pose)
  xyc[5:8, :8, 2] = 0.1  # pruned: mean body confidence < 0.3
  xyc[5:8, :, :2] = 0  # and garbage positions
  xyc[:, skeleton.RIGHT_HAND, :] = 0  # right hand never detected
  result = lifting.lift_clip(xyc, CONFIG)
  assert result.pose_TxJx3.shape == (T, 50, 3)
  np.testing.assert_array_equal(result.pruned_T, np.isin(np.arange(T),
                                                         [5, 6, 7]))
  np.testing.assert_array_equal(result.weight_TxJ[5:8], 0)
  assert result.unobserved_joints == tuple(range(29, 50))
  assert np.isnan(result.pose_TxJx3[:, 29:]).all()
  assert np.isfinite(result.pose_TxJx3[:, :29]).all()
  # Pruned frames are filled from frames 4 and 8 (their window mean).
  np.testing.assert_allclose(
      result.target_TxJx2[6, :29],
      (result.target_TxJx2[4, :29] + result.target_TxJx2[8, :29]) / 2,
      atol=1e-5)
  truth_px = pose[6, :29, :2] * 100 + [640, 300]
  lifted_px = (result.pose_TxJx3[6, :29, :2] * result.scale
               + result.mean_2d)
  assert np.median(np.linalg.norm(lifted_px - truth_px, axis=-1)) < 15
  # The shared hand classes keep the right-hand bones: lengths equal left.
  np.testing.assert_allclose(result.bone_length_B[28:],
                             result.bone_length_B[7:28], rtol=1e-6)


def test_lift_clip_rejects_bad_shapes():
  with pytest.raises(ValueError, match="expected"):
    lifting.lift_clip(np.zeros((3, 49, 3)))
  with pytest.raises(ValueError, match="no frames"):
    lifting.lift_clip(np.zeros((0, 50, 3)))


def test_padded_length_buckets():
  assert lifting.padded_length(1) == 32
  assert lifting.padded_length(157) == 160
  assert lifting.padded_length(1000) == 1024
  assert all(lifting.padded_length(n) >= n for n in range(1, 3000, 7))
  assert len({lifting.padded_length(n) for n in range(1, 2049)}) < 40
