"""Tests for signllm_jax.evaluate.dtw (oracle: dtaidistance + PT's loop)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from dtaidistance import dtw as dtai
from dtaidistance import dtw_ndim as dtai_ndim

from signllm_jax.evaluate import dtw


def _pt_reference(ref_RxF, hyp_HxF):
  """PT's calculate_dtw for one pair, as a plain loop (the spec)."""
  hyp_HxF = hyp_HxF[1:]
  ref_cut = max(int(np.argmax(ref_RxF[:, -1])), 1)
  hyp_cut = max(int(np.argmax(hyp_HxF[:, -1])), 1)
  x, y = ref_RxF[:ref_cut, :-1], hyp_HxF[:hyp_cut, :-1]
  acc = np.full((len(x) + 1, len(y) + 1), np.inf)
  acc[0, 0] = 0.0
  for i in range(len(x)):
    for j in range(len(y)):
      acc[i + 1, j + 1] = np.sum(np.abs(x[i] - y[j])) + min(
          acc[i, j], acc[i, j + 1], acc[i + 1, j])
  return acc[-1, -1] / len(x)


def _mje_reference(ref_RxJx3, hyp_HxJx3):
  """DTW-MJE by plain dynamic programming: (total, path length)."""
  r, h = len(ref_RxJx3), len(hyp_HxJx3)
  acc = np.full((r + 1, h + 1), np.inf)
  steps = np.zeros((r + 1, h + 1), int)
  acc[0, 0] = 0.0
  for i in range(r):
    for j in range(h):
      cost = np.linalg.norm(ref_RxJx3[i] - hyp_HxJx3[j], axis=-1).mean()
      prev = [(acc[i, j], steps[i, j]), (acc[i, j + 1], steps[i, j + 1]),
              (acc[i + 1, j], steps[i + 1, j])]
      best = min(prev, key=lambda p: p[0])
      acc[i + 1, j + 1] = cost + best[0]
      steps[i + 1, j + 1] = best[1] + 1
  return acc[-1, -1], steps[-1, -1]


def _pad(x, n):
  return np.concatenate([x, np.zeros((n - len(x),) + x.shape[1:], x.dtype)])


def test_accumulated_hand_computed():
  # ref [0, 1, 2] vs hyp [0, 2]: cost |r - h|; optimal path (0,0) (1,0)
  # (2,1) (or via (1,1)), total 0 + 1 + 0 = 1 over 3 cells.
  ref = np.array([[0.0], [1.0], [2.0], [0.0]], np.float32)  # padded to 4
  hyp = np.array([[0.0], [2.0], [5.0]], np.float32)  # padded to 3
  total, length = dtw.dtw_accumulated(jnp.asarray(hyp), jnp.asarray(ref),
                                      2, 3)
  assert float(total) == pytest.approx(1.0)
  assert float(length) == 3


def test_pt_dtw_hand_computed():
  # Every joint value equals v, so a frame pair costs 150 |v_ref - v_hyp|.
  ref_v, ref_c = [0, 1, 2, 3], [0, .25, .5, .75]  # PT counter: cut to 3
  hyp_v, hyp_c = [9, 0, 2, 2], [0, .3, .6, 1.]  # BOS dropped, cut to 2
  ref = np.array([[v] * 150 + [c] for v, c in zip(ref_v, ref_c)], np.float32)
  hyp = np.array([[v] * 150 + [c] for v, c in zip(hyp_v, hyp_c)], np.float32)
  # ref [0, 1, 2] vs hyp [0, 2]: total 150 * 1, / reference length 3.
  got = dtw.pt_dtw(jnp.asarray(hyp), jnp.asarray(ref), 4, 4)
  assert float(got) == pytest.approx(50.0)
  assert _pt_reference(ref, hyp) == pytest.approx(50.0)


@pytest.mark.parametrize("seed", range(4))
def test_l1_matches_dtaidistance(seed):
  rng = np.random.default_rng(seed)
  lens_h, lens_r = rng.integers(2, 20, 3), rng.integers(2, 20, 3)
  hyps = [rng.normal(size=(n, 1)).astype(np.float32) for n in lens_h]
  refs = [rng.normal(size=(n, 1)).astype(np.float32) for n in lens_r]
  total, length = dtw.dtw_accumulated_batch(
      np.stack([_pad(h, 24) for h in hyps]),
      np.stack([_pad(r, 21) for r in refs]), lens_h, lens_r)
  for k, (h, r) in enumerate(zip(hyps, refs)):
    # With inner_dist="euclidean" a 1-d series costs |x - y| per cell.
    want = dtai.distance(r[:, 0].astype(np.double), h[:, 0].astype(np.double),
                         inner_dist="euclidean")
    np.testing.assert_allclose(total[k], want, rtol=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_mje_matches_dtaidistance_single_joint(seed):
  rng = np.random.default_rng(10 + seed)
  h = rng.normal(size=(int(rng.integers(2, 15)), 1, 3))
  r = rng.normal(size=(int(rng.integers(2, 15)), 1, 3))
  want = dtai_ndim.distance(r[:, 0], h[:, 0], inner_dist="euclidean")
  path = dtai_ndim.warping_path(r[:, 0], h[:, 0], inner_dist="euclidean")
  got = dtw.dtw_mje(jnp.asarray(h, jnp.float32), jnp.asarray(r, jnp.float32),
                    len(h), len(r))
  np.testing.assert_allclose(float(got), want / len(path), rtol=1e-4)


def test_mje_matches_reference_many_joints():
  rng = np.random.default_rng(3)
  h, r = rng.normal(size=(11, 50, 3)), rng.normal(size=(9, 50, 3))
  total, steps = _mje_reference(r, h)
  got = dtw.dtw_mje_scores(_pad(h, 16)[None], _pad(r, 16)[None], [11], [9])
  np.testing.assert_allclose(got[0], total / steps, rtol=1e-4)


def test_pt_dtw_batch_matches_pt_loop_and_padding():
  rng = np.random.default_rng(7)
  lens_h, lens_r = np.array([5, 12, 9]), np.array([7, 4, 13])
  hyps, refs = [], []
  for nh, nr in zip(lens_h, lens_r):
    h = rng.normal(size=(nh, 151)).astype(np.float32)
    h[:, -1] = rng.uniform(size=nh)  # a predicted, non-monotonic counter
    r = rng.normal(size=(nr, 151)).astype(np.float32)
    r[:, -1] = np.arange(nr) / nr
    hyps.append(h)
    refs.append(r)
  want = [_pt_reference(r, h) for r, h in zip(refs, hyps)]
  for pad in (16, 32):
    got = dtw.pt_dtw_scores(np.stack([_pad(h, pad) for h in hyps]),
                            np.stack([_pad(r, pad) for r in refs]),
                            lens_h, lens_r)
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_jit_vmap_equals_single_pairs():
  rng = np.random.default_rng(1)
  h = rng.normal(size=(3, 10, 50, 3)).astype(np.float32)
  r = rng.normal(size=(3, 8, 50, 3)).astype(np.float32)
  lh, lr = np.array([10, 6, 3]), np.array([8, 8, 2])
  batched = dtw.dtw_mje_batch(h, r, lh, lr)
  single = [jax.jit(dtw.dtw_mje)(h[k], r[k], lh[k], lr[k]) for k in range(3)]
  np.testing.assert_allclose(batched, np.array(single), rtol=1e-6)


def test_nan_joints_are_ignored():
  rng = np.random.default_rng(2)
  h = rng.normal(size=(6, 50, 3)).astype(np.float32)
  r = rng.normal(size=(7, 50, 3)).astype(np.float32)
  h_nan = h.copy()
  h_nan[:, 10] = np.nan  # joint 10 missing throughout the hypothesis
  got = dtw.dtw_mje(jnp.asarray(h_nan), jnp.asarray(r), 6, 7)
  want = dtw.dtw_mje(jnp.asarray(np.delete(h, 10, 1)),
                     jnp.asarray(np.delete(r, 10, 1)), 6, 7)
  assert np.isfinite(float(got))
  np.testing.assert_allclose(float(got), float(want), rtol=1e-5)
  # L1 cost: a NaN coordinate drops out of the sum.
  hf = np.concatenate([h.reshape(6, -1), np.linspace(0.1, 1, 6)[:, None]], 1)
  rf = np.concatenate([r.reshape(7, -1), np.linspace(0, 6 / 7, 7)[:, None]], 1)
  hf_nan, rf_nan = hf.copy(), rf.copy()
  hf_nan[2, 5] = np.nan
  rf_nan[:, 5] = np.nan
  got = dtw.pt_dtw(jnp.asarray(hf_nan), jnp.asarray(rf_nan), 6, 7)
  hf[:, 5] = rf[:, 5] = 0.0
  want = dtw.pt_dtw(jnp.asarray(hf), jnp.asarray(rf), 6, 7)
  np.testing.assert_allclose(float(got), float(want), rtol=1e-5)


def test_checked_wrappers_reject_bad_input():
  frames = np.zeros((2, 8, 151), np.float32)
  with pytest.raises(ValueError, match="hypothesis length 1 at batch index 1"):
    dtw.pt_dtw_scores(frames, frames, [4, 1], [4, 4])
  with pytest.raises(ValueError, match="reference length 9"):
    dtw.pt_dtw_scores(frames, frames, [4, 4], [9, 4])
  with pytest.raises(ValueError, match=r"\[B, T, 151\]"):
    dtw.pt_dtw_scores(frames[..., :150], frames, [4, 4], [4, 4])


def test_frames_with_counter():
  pose = np.ones((2, 4, 50, 3), np.float32)
  frames = dtw.frames_with_counter(pose, [4, 2])
  np.testing.assert_allclose(frames[0, :, -1], [.25, .5, .75, 1.])
  np.testing.assert_allclose(frames[1, :, -1], [.5, 1., 0., 0.])
  assert frames.shape == (2, 4, 151) and frames[1, 2:, :150].sum() == 0


@pytest.mark.real_data
def test_mean_pose_dtw_on_phoenix_dev(sample_data_dir):
  # README: a constant mean training pose scores PT-DTW "about 12.1" on dev.
  from signllm_jax.baselines import mean_pose
  from signllm_jax.evaluate import report

  def read(split):
    path = sample_data_dir / "phoenix14t_pt" / f"{split}.skels"
    return [np.array(line.split(), np.float32).reshape(-1, 151)[:, :150]
            .reshape(-1, 50, 3) * 3 for line in path.open()]

  train, dev = read("train"), read("dev")
  mean = mean_pose.MeanPoseBaseline().fit(train)
  scores = report.pose_metrics([mean.predict(len(r)) for r in dev], dev)
  assert 11.5 < scores["dtw"] < 12.6
  assert scores["hand_motion_ratio"] == 0.0


@pytest.mark.parametrize("seed", [0, 1])
def test_mje_path_is_the_optimal_alignment(seed):
  rng = np.random.default_rng(seed)
  ref = rng.normal(size=(7, 50, 3)).astype(np.float32)
  hyp = rng.normal(size=(11, 50, 3)).astype(np.float32)
  (path,) = dtw.mje_paths([hyp], [ref])
  # A monotone, connected path from (0, 0) to the last cells ...
  assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (6, 10)
  steps = np.diff(path, axis=0)
  assert ((steps >= 0) & (steps <= 1)).all() and (steps.sum(1) >= 1).all()
  # ... whose cost and length are the DP's optimum.
  cost = np.mean(np.linalg.norm(ref[path[:, 0]] - hyp[path[:, 1]], axis=-1),
                 axis=-1)
  total, length = _mje_reference(ref, hyp)
  assert cost.sum() == pytest.approx(total, rel=1e-5)
  assert len(path) == length


def test_mje_path_of_identical_and_stretched_sequences():
  rng = np.random.default_rng(2)
  ref = rng.normal(size=(9, 50, 3)).astype(np.float32)
  stretched = np.repeat(ref, 2, axis=0)  # each frame held twice
  same, slow = dtw.mje_paths([ref, stretched], [ref, ref])
  np.testing.assert_array_equal(same, np.stack([np.arange(9)] * 2, 1))
  np.testing.assert_array_equal(slow[:, 1] // 2, slow[:, 0])
  spans = np.array([[0, 3], [3, 9]])
  np.testing.assert_array_equal(dtw.map_spans(same, spans), spans)
  np.testing.assert_array_equal(dtw.map_spans(slow, spans), 2 * spans)
  # Spans reaching past the reference are clipped, never empty.
  np.testing.assert_array_equal(dtw.map_spans(same, [[8, 12]]), [[8, 9]])
  with pytest.raises(ValueError, match="hypothesis 0"):
    dtw.mje_paths([np.zeros((0, 50, 3))], [ref])
