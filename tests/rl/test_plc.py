"""Tests for signllm_jax.rl.plc, the Priority Learning Channel."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from scipy import stats

from signllm_jax import rl
from signllm_jax.rl import plc

T, F = 3, 5
EXAMPLE = {"pose": jnp.zeros((T, F), jnp.float32),
           "lang": jnp.zeros((), jnp.int32),
           "idx": jnp.zeros((), jnp.int32)}


def _items(ids, langs=None):
  ids = np.asarray(ids, np.int32)
  langs = np.zeros_like(ids) if langs is None else np.asarray(langs, np.int32)
  pose = ids[:, None, None] + np.zeros((1, T, F), np.float32)
  return {"pose": jnp.asarray(pose, jnp.float32), "lang": jnp.asarray(langs),
          "idx": jnp.asarray(ids)}


_add = jax.jit(plc.add)
_update = jax.jit(plc.update)


@functools.partial(jax.jit, static_argnames=("num", "priority_fn", "eta",
                                             "is_beta", "min_size"))
def _sample(state, key, mask_C=None, *, num, priority_fn="inv_mse", eta=1.0,
            is_beta=None, min_size=0):
  return plc.sample(state, key, num, priority_fn=priority_fn, eta=eta,
                    mask_C=mask_C, is_beta=is_beta, min_size=min_size)


def _filled(mse, capacity=None, langs=None):
  mse = np.asarray(mse, np.float32)
  n = len(mse)
  state = plc.init(EXAMPLE, capacity or n)
  return _add(state, _items(np.arange(n), langs), jnp.asarray(-mse),
              ids_B=jnp.arange(n, dtype=jnp.int32))


MSE16 = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.3,
                  1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0], np.float32)


def _expected(priority_fn, eta, mse=MSE16):
  """The paper's P(i) ∝ f(r_i)^eta, written out in numpy."""
  mse = np.asarray(mse, np.float64)
  r = -mse
  if priority_fn == "exp":
    p = np.exp(eta * r)
  elif priority_fn == "inv_mse":
    p = (1.0 / (mse + 1e-6)) ** eta
  else:
    rank = np.empty(len(r))
    rank[np.argsort(-r, kind="stable")] = np.arange(1, len(r) + 1)
    p = (1.0 / rank) ** eta
  return p / p.sum()


def _chi2_pvalue(slots, expected):
  counts = np.bincount(np.asarray(slots), minlength=len(expected))
  expected = np.asarray(expected, np.float64)
  return stats.chisquare(counts, expected * counts.sum()).pvalue


@pytest.mark.parametrize("priority_fn,eta", [
    ("inv_mse", 0.5), ("exp", 1.0), ("rank", 1.0)])
def test_sampling_frequencies_match_priorities(priority_fn, eta):
  state = _filled(MSE16)
  expected = _expected(priority_fn, eta)
  np.testing.assert_allclose(
      plc.probabilities(state, priority_fn=priority_fn, eta=eta), expected,
      rtol=1e-5)
  out = _sample(state, jax.random.key(0), num=20_000,
                priority_fn=priority_fn, eta=eta)
  assert bool(jnp.all(out.valid))
  np.testing.assert_allclose(out.probs, expected[np.asarray(out.slots)],
                             rtol=1e-5)
  assert _chi2_pvalue(out.slots, expected) > 1e-3
  # Negative controls: the same test rejects uniform draws and draws made
  # with the wrong intensity (eta = 1 instead of eta = 2).
  uniform = jax.random.randint(jax.random.key(1), (20_000,), 0, 16)
  assert _chi2_pvalue(uniform, expected) < 1e-9
  wrong = _sample(state, jax.random.key(2), num=20_000,
                  priority_fn=priority_fn, eta=2 * eta)
  assert _chi2_pvalue(wrong.slots, expected) < 1e-9


def test_add_fills_in_order_and_tracks_size():
  state = plc.init(EXAMPLE, 8)
  state = _add(state, _items([10, 11, 12]), jnp.array([-1., -2., -3.]),
               ids_B=jnp.array([10, 11, 12]))
  np.testing.assert_array_equal(state.ids_C, [10, 11, 12, -1, -1, -1, -1, -1])
  np.testing.assert_array_equal(state.reward_C[:3], [-1., -2., -3.])
  np.testing.assert_array_equal(state.items["pose"][:4, 0, 0], [10, 11, 12, 0])
  assert int(state.size[0]) == 3 and int(state.insert_pos[0]) == 3


def test_readding_an_id_overwrites_its_slot():
  state = _filled([1., 2., 3.], capacity=8)
  new_items = _items([1, 7])
  new_items["pose"] = new_items["pose"] + 100.
  state = _add(state, new_items, jnp.array([-0.1, -7.]),
               ids_B=jnp.array([1, 7]))
  np.testing.assert_array_equal(state.ids_C[:5], [0, 1, 2, 7, -1])
  np.testing.assert_allclose(state.reward_C[:4], [-1., -0.1, -3., -7.])
  assert float(state.items["pose"][1, 0, 0]) == 101.
  assert int(state.size[0]) == 4
  assert int(jnp.sum(state.ids_C == 1)) == 1


def test_repeated_id_in_one_batch_keeps_the_last_valid_row():
  state = plc.init(EXAMPLE, 4)
  items = _items([5, 5, 5])
  items["pose"] = items["pose"] + jnp.array([0., 1., 2.])[:, None, None]
  state = _add(state, items, jnp.array([-1., -2., -3.]),
               ids_B=jnp.array([5, 5, 5]), valid_B=jnp.array([1, 1, 0]))
  np.testing.assert_array_equal(state.ids_C, [5, -1, -1, -1])
  assert float(state.reward_C[0]) == -2.
  assert float(state.items["pose"][0, 0, 0]) == 6.
  assert int(state.size[0]) == 1


def test_invalid_rows_and_negative_ids_are_not_stored():
  state = plc.init(EXAMPLE, 4)
  state = _add(state, _items([3, 4, -1]), jnp.array([-1., -1., -1.]),
               ids_B=jnp.array([3, 4, -1]), valid_B=jnp.array([0, 1, 1]))
  np.testing.assert_array_equal(state.ids_C, [4, -1, -1, -1])


def test_full_buffer_evicts_oldest_but_not_refreshed_slots():
  state = _filled([1., 2., 3., 4.])  # ids 0..3 in slots 0..3, ring at 0
  # id 0 (slot 0, the oldest) is refreshed, so the new ids 8, 9 take
  # slots 1 and 2, and the ring moves on to slot 3.
  state = _add(state, _items([0, 8, 9]), jnp.array([-5., -8., -9.]),
               ids_B=jnp.array([0, 8, 9]))
  np.testing.assert_array_equal(state.ids_C, [0, 8, 9, 3])
  np.testing.assert_array_equal(state.reward_C, [-5., -8., -9., -4.])
  assert int(state.insert_pos[0]) == 3 and int(state.size[0]) == 4
  state = _add(state, _items([10, 11]), jnp.array([-1., -1.]),
               ids_B=jnp.array([10, 11]))
  np.testing.assert_array_equal(state.ids_C, [11, 8, 9, 10])


def test_add_rejects_batch_larger_than_capacity():
  with pytest.raises(ValueError, match="capacity"):
    plc.add(plc.init(EXAMPLE, 2), _items([0, 1, 2]), jnp.zeros(3),
            ids_B=jnp.arange(3))


def test_init_rejects_capacity_not_split_evenly():
  with pytest.raises(ValueError, match="capacity"):
    plc.init(EXAMPLE, 10, num_shards=8)


def test_update_changes_priorities_and_sampling():
  state = _filled([1., 1., 1., 1.])
  np.testing.assert_allclose(
      plc.probabilities(state, priority_fn="inv_mse", eta=1.0), [0.25] * 4,
      rtol=1e-5)
  state = _update(state, jnp.array([2, 2, 0]), jnp.array([-9., -1 / 7, -1.]))
  np.testing.assert_allclose(state.reward_C, [-1., -1., -1 / 7, -1.])
  np.testing.assert_allclose(
      plc.probabilities(state, priority_fn="inv_mse", eta=1.0),
      [0.1, 0.1, 0.7, 0.1], rtol=1e-4)
  # An id guard skips slots that no longer hold the sampled example.
  guarded = _update(state, jnp.array([1, 3]), jnp.array([-5., -5.]),
                    ids_R=jnp.array([1, 99]), valid_R=jnp.array([True, True]))
  np.testing.assert_allclose(guarded.reward_C, [-1., -5., -1 / 7, -1.])


def test_mask_restricts_sampling_to_matching_language():
  state = _filled(MSE16, langs=np.arange(16) % 3)
  mask_C = state.items["lang"] == 1
  out = _sample(state, jax.random.key(4), mask_C, num=512)
  assert bool(jnp.all(out.valid))
  np.testing.assert_array_equal(out.items["lang"], np.ones(512))
  np.testing.assert_array_equal(np.asarray(out.slots) % 3, np.ones(512))
  probs = plc.probabilities(state, priority_fn="inv_mse", eta=1.0,
                            mask_C=mask_C)
  assert float(jnp.sum(probs)) == pytest.approx(1.0)
  assert float(jnp.sum(jnp.where(mask_C, 0., probs))) == 0.


def test_no_eligible_slot_returns_invalid_rows():
  for state, mask_C in [
      (plc.init(EXAMPLE, 8), None),                        # empty buffer
      (_filled([1., 2.], capacity=8), jnp.zeros(8, bool))]:  # mask excludes
    out = _sample(state, jax.random.key(5), mask_C, num=4, is_beta=0.5)
    assert not bool(jnp.any(out.valid))
    np.testing.assert_array_equal(out.probs, np.zeros(4))
    np.testing.assert_array_equal(out.is_weights, np.zeros(4))
    assert bool(jnp.all(jnp.isfinite(out.items["pose"])))
    assert bool(jnp.all((out.slots >= 0) & (out.slots < 8)))


def test_min_size_holds_replay_back():
  state = _filled([1., 2., 3.], capacity=8)
  assert not bool(jnp.any(_sample(state, jax.random.key(6), num=4,
                                  min_size=4).valid))
  assert bool(jnp.all(_sample(state, jax.random.key(6), num=4,
                              min_size=3).valid))


def test_is_weights():
  state = _filled([1., 2., 4.])
  off = _sample(state, jax.random.key(7), num=64)
  np.testing.assert_array_equal(off.is_weights, np.ones(64))
  beta = 0.5
  out = _sample(state, jax.random.key(7), num=64, is_beta=beta)
  p = _expected("inv_mse", 1.0, np.array([1., 2., 4.]))
  n = 3
  w = (n * p) ** -beta
  w = w / w.max()
  np.testing.assert_allclose(out.is_weights, w[np.asarray(out.slots)],
                             rtol=1e-5)
  assert float(jnp.max(out.is_weights)) <= 1.0 + 1e-6
  assert len(set(np.asarray(out.slots).tolist())) == 3


def test_state_checkpoints_with_orbax(tmp_path):
  state = _filled([1., 2., 3.], capacity=4)
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(tmp_path / "replay", state)
    ckptr.wait_until_finished()
    target = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)
    restored = ckptr.restore(tmp_path / "replay", target)
  assert isinstance(restored, plc.ReplayState)
  jax.tree.map(np.testing.assert_array_equal, restored, state)


# ------------------------------------------------------ sharded, 8 devices


def _mesh(n):
  return jax.make_mesh((n,), ("data",), devices=jax.devices()[:n],
                       axis_types=(jax.sharding.AxisType.Auto,))


@functools.lru_cache(maxsize=None)
def _sharded_fns(n):
  """Jitted sharded add/sample/update on an n-device mesh (one compile)."""
  mesh = _mesh(n)
  add = jax.jit(lambda s, it, r, i: plc.sharded_add(s, it, r, ids_B=i,
                                                    mesh=mesh))
  sample = jax.jit(
      lambda s, k, m: plc.sharded_sample(s, k, 64, priority_fn="inv_mse",
                                         eta=1.0, mask_C=m, mesh=mesh),
  )
  update = jax.jit(lambda s, sl, r: plc.sharded_update(s, sl, r, mesh=mesh))
  return add, sample, update


def test_one_device_mesh_equals_unsharded():
  add, sample, update = _sharded_fns(1)
  rewards = -jnp.asarray(MSE16[:8])
  ids = jnp.array([4, 9, 4, 1, 7, 3, 2, 8])
  plain = _add(plc.init(EXAMPLE, 8), _items(ids), rewards, ids_B=ids)
  sharded = add(plc.init(EXAMPLE, 8), _items(ids), rewards, ids)
  jax.tree.map(np.testing.assert_array_equal, sharded, plain)
  key = jax.random.key(8)
  got = sample(sharded, key, jnp.ones(8, bool))
  want = _sample(plain, key, num=64)
  jax.tree.map(np.testing.assert_array_equal, got, want)
  jax.tree.map(np.testing.assert_array_equal,
               update(sharded, got.slots, -jnp.arange(64.)),
               _update(plain, want.slots, -jnp.arange(64.)))


def test_sharded_shards_draw_different_patterns():
  n = 8
  add, sample, _ = _sharded_fns(n)
  state = plc.init(EXAMPLE, 8 * n, num_shards=n)
  # Every add stores one row per shard with the same reward on every shard,
  # so all shards hold identical priorities: only the key can differ.
  for k in range(8):
    ids = jnp.arange(n) * 100 + k
    state = add(state, _items(ids), jnp.full((n,), -MSE16[2 * k]), ids)
  np.testing.assert_array_equal(state.size, np.full(n, 8))
  local = np.asarray(state.reward_C).reshape(n, 8)
  assert (local == local[0]).all()
  out = sample(state, jax.random.key(9), jnp.ones(8 * n, bool))
  slots = np.asarray(out.slots).reshape(n, 64 // n)
  shard_of = slots // 8
  np.testing.assert_array_equal(shard_of, np.arange(n)[:, None] + 0 * slots)
  patterns = {tuple(row) for row in (slots % 8).tolist()}
  assert len(patterns) == n
  np.testing.assert_array_equal(np.asarray(out.items["idx"]),
                                np.asarray(state.ids_C)[np.asarray(out.slots)])


def test_sharded_add_never_duplicates_ids_across_shards():
  n = 8
  add, sample, update = _sharded_fns(n)
  state = plc.init(EXAMPLE, 8 * n, num_shards=n)
  ids = jnp.arange(n, dtype=jnp.int32)
  state = add(state, _items(ids), -jnp.ones(n), ids)
  # The same ids again, landing on other shards' rows, plus a repeat.
  ids2 = jnp.array([5, 6, 7, 0, 1, 2, 20, 20], jnp.int32)
  state = add(state, _items(ids2), -jnp.arange(2., 2. + n), ids2)
  stored = np.asarray(state.ids_C)
  assert sorted(stored[stored >= 0].tolist()) == [0, 1, 2, 3, 4, 5, 6, 7, 20]
  reward_of = dict(zip(stored.tolist(), np.asarray(state.reward_C).tolist()))
  assert reward_of[5] == -2. and reward_of[2] == -7. and reward_of[3] == -1.
  assert reward_of[20] == -9.  # the last of the repeated rows
  assert int(np.sum(state.size)) == 9
  # Updates reach the right shard whatever the row order.
  out = sample(state, jax.random.key(10), jnp.ones(8 * n, bool))
  valid = np.asarray(out.valid)
  slot0 = int(np.asarray(out.slots)[valid][0])
  state = update(state, jnp.full((64,), slot0, jnp.int32), -jnp.full(64, 3.5))
  assert float(state.reward_C[slot0]) == -3.5


def test_sharded_mask_restricts_each_shard():
  n = 8
  add, sample, _ = _sharded_fns(n)
  state = plc.init(EXAMPLE, 8 * n, num_shards=n)
  ids = jnp.arange(n, dtype=jnp.int32)
  state = add(state, _items(ids, langs=np.arange(n) % 2), -jnp.ones(n), ids)
  out = sample(state, jax.random.key(11), state.items["lang"] == 1)
  valid = np.asarray(out.valid).reshape(n, -1)
  # Shards holding only language-0 examples have nothing to draw.
  np.testing.assert_array_equal(valid.all(axis=1), np.arange(n) % 2 == 1)
  np.testing.assert_array_equal(valid.any(axis=1), np.arange(n) % 2 == 1)
  assert (np.asarray(out.items["lang"])[np.asarray(out.valid)] == 1).all()


def test_shardings_place_every_leaf_on_the_data_axis_and_stats():
  n = 8
  add, _, _ = _sharded_fns(n)
  state = plc.init(EXAMPLE, 8 * n, num_shards=n)
  state = jax.device_put(state, plc.shardings(state, _mesh(n)))
  ids = jnp.arange(n, dtype=jnp.int32)
  state = add(state, _items(ids), -jnp.arange(1., 1. + n), ids)
  for leaf in jax.tree.leaves(state):
    assert leaf.sharding.spec == jax.sharding.PartitionSpec("data")
    assert len(leaf.addressable_shards) == n
  metrics = plc.stats(state)
  assert float(metrics["replay/size"]) == n
  assert float(metrics["replay/reward_mean"]) == pytest.approx(-4.5)


def test_trainer_calls_on_a_data_fsdp_tensor_mesh(tmp_path):
  """rl.init_state / replay_sample / objective / replay_record, jitted."""
  mesh = jax.make_mesh((2, 2, 2), ("data", "fsdp", "tensor"),
                       axis_types=(jax.sharding.AxisType.Auto,) * 3)
  cfg = rl.default_rl_config()
  cfg.mode = "rl_plc"
  cfg.replay_capacity = 16
  cfg.min_replay_size = 4
  cfg.is_beta = -1.0  # negative = off, like None
  assert rl.num_shards(mesh) == 4 and rl.is_beta(cfg) is None
  batch = _items(np.arange(8), langs=np.arange(8) % 2)
  batch["example_mask"] = jnp.arange(8) < 7  # row 7 is padding
  state = rl.init_state(cfg, example_batch=batch, mesh=mesh)
  assert state.replay.size.shape == (4,)
  num = rl.replay_batch_size(16, cfg, rl.num_shards(mesh))
  assert num == 4

  @jax.jit
  def step(state, batch, mse_B, key):
    sample = rl.replay_sample(state, key, cfg, num=num,
                              lang=batch["lang"][1], mesh=mesh)
    rows_B = jnp.concatenate([mse_B, sample.items["pose"][:, 0, 0]])
    mask_B = jnp.concatenate([batch["example_mask"], sample.valid])
    w_B = jnp.concatenate([jnp.ones(8), sample.is_weights])
    loss_value, metrics, state = rl.objective(
        rows_B, rows_B, cfg, example_mask_B=mask_B, rl_state=state,
        is_weights_B=w_B)
    state = rl.replay_record(state, cfg, fresh_B=batch, fresh_mse_B=mse_B,
                             fresh_mask_B=batch["example_mask"],
                             sample=sample, replay_mse_R=jnp.full(num, 0.25),
                             mesh=mesh)
    return state, sample, loss_value, metrics

  mse_B = jnp.arange(1., 9.)
  state, first, _, _ = step(state, batch, mse_B, jax.random.key(0))
  assert not bool(jnp.any(first.valid))  # nothing stored before the step
  stored = np.asarray(state.replay.ids_C)
  assert sorted(stored[stored >= 0].tolist()) == list(range(7))
  state, second, loss_value, metrics = step(state, batch, mse_B,
                                            jax.random.key(1))
  # Shard k holds ids 2k, 2k+1; shard 3's only language-1 id (7) was
  # padding, so its draw is invalid: replay is stratified per shard.
  np.testing.assert_array_equal(second.valid, [True, True, True, False])
  np.testing.assert_array_equal(second.items["idx"][:3], [1, 3, 5])
  assert np.isfinite(float(loss_value)) and float(metrics["rl/kept"]) > 0
  # The replayed slots got the replay reward -0.25 (unless refreshed again
  # by the same ids in the fresh rows, which here they all are: -mse).
  reward_of = dict(zip(np.asarray(state.replay.ids_C).tolist(),
                       np.asarray(state.replay.reward_C).tolist()))
  assert reward_of[3] == -4.0
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(tmp_path / "rl", state)
    ckptr.wait_until_finished()
    target = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
        state)
    restored = ckptr.restore(tmp_path / "rl", target)
  jax.tree.map(np.testing.assert_array_equal, restored, state)


def test_replay_sample_draws_only_rows_that_fit_the_fresh_bucket():
  mesh = jax.make_mesh((1,), ("data",),
                       axis_types=(jax.sharding.AxisType.Auto,))
  cfg = rl.default_rl_config()
  cfg.mode = "rl_plc"
  cfg.replay_capacity = 16
  cfg.min_replay_size = 1
  ids = np.arange(8)
  batch = _items(ids)
  batch["length"] = jnp.asarray(np.where(ids % 2, 9, 3), jnp.int32)
  batch["example_mask"] = jnp.ones(8, bool)
  state = rl.init_state(cfg, example_batch=batch, mesh=mesh)
  state = rl.replay_record(state, cfg, fresh_B=batch,
                           fresh_mse_B=jnp.full(8, 0.5),
                           fresh_mask_B=batch["example_mask"], mesh=mesh)
  for seed in range(5):
    short = rl.replay_sample(state, jax.random.key(seed), cfg, num=4,
                             lang=jnp.int32(0), max_length=4, mesh=mesh)
    assert bool(jnp.all(short.valid))
    assert set(np.asarray(short.items["idx"]).tolist()) <= {0, 2, 4, 6}
  both = set()
  for seed in range(5):
    anyl = rl.replay_sample(state, jax.random.key(seed), cfg, num=4,
                            lang=jnp.int32(0), mesh=mesh)
    both |= set(np.asarray(anyl.items["idx"]).tolist())
  assert both & {1, 3, 5, 7}  # without the bound, long rows are drawn
