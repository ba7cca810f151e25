"""The real jitted train step (state.train_step) on the smoke MLSF model.

One step at a time, from the same initial state: group isolation, each group
training as its own model, skipped non-finite updates, the "mse" loss,
sharded == single-device, RL modes on the 8-device mesh.
"""

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from signllm_jax import losses
from signllm_jax import optim
from signllm_jax import sharding
from signllm_jax import state as state_lib
from signllm_jax import steps
from signllm_jax.data import pipeline
from tests import testing


@pytest.fixture(scope="module")
def setup():
  return testing.build_setup(testing.smoke_config())


@pytest.fixture(scope="module")
def train_step(setup):
  return testing.train_step(setup)


@pytest.fixture(scope="module")
def host_batches(setup):
  """The first training batches as host arrays; [0] and [1] differ in
  language."""
  it = pipeline.make_train_iterator(setup.cfg.data, mesh=setup.mesh, seed=0)
  batches = [jax.device_get(next(it))]
  while len(batches) < 4 or batches[1]["lang"][0] == batches[0]["lang"][0]:
    batch = jax.device_get(next(it))
    if batch["lang"][0] != batches[0]["lang"][0] and len(batches) > 1:
      batches.insert(1, batch)
    else:
      batches.append(batch)
  return batches


def _copy(state):
  """A fresh copy: the step donates its input state."""
  return jax.tree.map(lambda x: x.copy(), state)


def _on_mesh(host_batch, mesh):
  sh = NamedSharding(mesh, P(sharding.BATCH_AXES))
  return {k: jax.device_put(np.asarray(v), sh) for k, v in host_batch.items()}


def test_step_updates_only_the_batch_languages_group(setup, train_step,
                                                     host_batches):
  # A step on language a first: its group then has non-zero Adam moments,
  # which would move it during the step on language b without the masking.
  first, batch = host_batches[0], host_batches[1]
  lang = int(batch["lang"][0])
  assert (batch["lang"] == lang).all(), "MLSF batches are single-language"
  assert int(first["lang"][0]) != lang
  state, _, _ = train_step(_copy(setup.state), None,
                           _on_mesh(first, setup.mesh))
  before = testing.flat_state(state)
  new_state, _, metrics = train_step(state, None, _on_mesh(batch, setup.mesh))
  after = testing.flat_state(new_state)
  assert int(metrics["nonfinite"]) == 0
  group_mask = dict(zip(before, jax.tree.leaves(
      steps.group_leaf_mask(setup.state, setup.num_langs))))
  kinds = {"param": 0, "mu": 0, "nu": 0}
  changed = dict(kinds)
  momentum_a = 0
  counts = []
  for name, is_group in group_mask.items():
    if not is_group:
      continue
    others = np.arange(setup.num_langs) != lang
    # Idle groups: bit-identical parameters, Adam moments and step counts.
    np.testing.assert_array_equal(after[name][others], before[name][others],
                                  err_msg=name)
    if "'count'" in name:
      counts.append(name)
      continue
    kind = ("mu" if "'mu'" in name else "nu" if "'nu'" in name else
            "param" if name.startswith("[0]") else None)
    assert kind, name
    kinds[kind] += 1
    changed[kind] += int(not np.array_equal(after[name][lang],
                                            before[name][lang]))
    if kind == "mu":
      momentum_a += int(np.any(before[name][int(first["lang"][0])] != 0))
  assert min(kinds.values()) > 10, kinds
  assert momentum_a >= kinds["mu"] - 2, "the first step left no momentum"
  # The batch's own group moved: (nearly) every leaf, params and moments.
  for kind in kinds:
    assert changed[kind] >= kinds[kind] - 2, (kind, changed, kinds)
  # Adam counts each group's own updates (optim.per_group_count).
  assert len(counts) == 1, counts
  want = np.zeros(setup.num_langs, np.int32)
  want[int(first["lang"][0])] = 1
  np.testing.assert_array_equal(before[counts[0]], want)
  want[lang] = 1
  np.testing.assert_array_equal(after[counts[0]], want)


def _next_batch_in(setup, lang: int, after: int):
  """The first training batch of language `lang` past the first `after`."""
  it = pipeline.make_train_iterator(setup.cfg.data, mesh=setup.mesh, seed=0)
  for i in range(200):
    batch = jax.device_get(next(it))
    if i >= after and int(batch["lang"][0]) == lang:
      return batch
  raise AssertionError(f"no batch of language {lang} in 200")


def test_each_group_trains_as_its_own_model(setup, train_step, host_batches):
  # MLSF's groups are independent models: group a after steps (a, b, a)
  # equals group a after (a, a) alone. Needs Adam to count group a's own
  # updates: with one global count the second a step is bias-corrected as
  # step 3 instead of 2 (the config's lr is constant, so the schedule's
  # global clock changes nothing).
  assert setup.cfg.optim.schedule == "constant"
  a1, b1 = host_batches[0], host_batches[1]
  lang_a, lang_b = int(a1["lang"][0]), int(b1["lang"][0])
  a2 = _next_batch_in(setup, lang_a, after=len(host_batches))
  interleaved = _copy(setup.state)
  for batch in (a1, b1, a2):
    interleaved, _, _ = train_step(interleaved, None,
                                   _on_mesh(batch, setup.mesh))
  alone = _copy(setup.state)
  for batch in (a1, a2):
    alone, _, _ = train_step(alone, None, _on_mesh(batch, setup.mesh))
  got, want = testing.flat_state(interleaved), testing.flat_state(alone)
  mask = dict(zip(got, jax.tree.leaves(
      steps.group_leaf_mask(setup.state, setup.num_langs))))
  n = 0
  for name, is_group in mask.items():
    if is_group:
      n += 1
      np.testing.assert_array_equal(got[name][lang_a], want[name][lang_a],
                                    err_msg=name)
  assert n > 30, n
  count = next(name for name in got if "'count'" in name and mask[name])
  assert got[count][lang_a] == 2 and got[count][lang_b] == 1


def test_group_slice_update_equals_the_dense_masked_update(setup, train_step,
                                                          host_batches):
  # The step updates only the batch's group slice; the reference takes the
  # gradient of the whole stacked model, runs Adam on every group and keeps
  # the new values only in the batch's group (the update before slicing).
  first, batch = host_batches[0], host_batches[1]
  state, _, _ = train_step(_copy(setup.state), None,
                           _on_mesh(first, setup.mesh))
  ref_input = _copy(state)
  lang = int(batch["lang"][0])
  mask = steps.group_leaf_mask(setup.state, setup.num_langs)

  # The same transforms with one scalar count, fed the group's own count.
  plain_tx = optim.make_optimizer(setup.cfg.optim, setup.cfg.train.steps)

  @jax.jit
  def dense_masked_step(state, batch):
    group = batch["lang"][0]
    model, optimizer = nnx.merge(setup.graphdef, state, copy=True)
    grads = nnx.grad(lambda m: losses.total_loss(
        m(batch, train=True), batch, setup.cfg.model)[0])(model)
    params = nnx.as_pure(nnx.state(model, nnx.Param))
    per_group = lambda path, x: optim.is_per_group_count(  # noqa: E731
        path, x, setup.num_langs)
    opt_vec = nnx.as_pure(optimizer.opt_state)
    opt_one = jax.tree_util.tree_map_with_path(
        lambda path, x: x[group] if per_group(path, x) else x, opt_vec)
    updates, new_one = plain_tx.update(
        nnx.as_pure(nnx.state(grads, nnx.Param)), opt_one, params)
    nnx.update(model, optax.apply_updates(params, updates))
    new_vec = jax.tree_util.tree_map_with_path(
        lambda path, old, n: old.at[group].set(n) if per_group(path, old)
        else n, opt_vec, new_one)
    nnx.update(optimizer.opt_state, nnx.state(new_vec))
    optimizer.step[...] += 1
    new = nnx.state((model, optimizer))

    def keep_group(n, o, is_group):
      if not is_group:
        return n
      onehot = (jnp.arange(n.shape[0]) == batch["lang"][0]).reshape(
          (-1,) + (1,) * (n.ndim - 1))
      return jnp.where(onehot, n, o)
    return jax.tree.map(keep_group, new, state, mask)

  want = testing.flat_state(dense_masked_step(ref_input, _on_mesh(batch, setup.mesh)))
  got = testing.flat_state(train_step(state, None, _on_mesh(batch, setup.mesh))[0])
  assert want.keys() == got.keys()
  stacked = dict(zip(want, jax.tree.leaves(mask)))
  for name in want:
    # Same arithmetic on the same values; only XLA's fusion differs.
    np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-7,
                               err_msg=name)
    if stacked[name]:
      others = np.arange(setup.num_langs) != lang
      np.testing.assert_array_equal(got[name][others], want[name][others],
                                    err_msg=name)


def test_nonfinite_loss_skips_the_update_bit_identically(setup, train_step,
                                                         host_batches):
  batch = dict(host_batches[1])
  pose = batch["pose"].copy()
  pose[0, 0, 0] = np.nan  # a real frame: the loss becomes NaN
  assert batch["pose_mask"][0, 0]
  batch["pose"] = pose
  new_state, _, metrics = train_step(_copy(setup.state), None,
                                     _on_mesh(batch, setup.mesh))
  assert int(metrics["nonfinite"]) == 1
  assert not np.isfinite(float(metrics["loss"]))
  before, after = testing.flat_state(setup.state), testing.flat_state(new_state)
  assert before.keys() == after.keys()
  for name in before:  # params, moments, Adam's count and the step counter
    np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_mse_mode_loss_is_exactly_the_pose_loss(setup, train_step,
                                                host_batches):
  assert setup.cfg.rl.mode == "mse"
  _, rl_state, metrics = train_step(_copy(setup.state), None,
                                    _on_mesh(host_batches[2], setup.mesh))
  assert rl_state is None  # "mse" carries no RL state
  # `pose_loss` is losses.total_loss's term, computed in the same step.
  assert np.asarray(metrics["loss"]).tobytes() == np.asarray(
      metrics["pose_loss"]).tobytes()
  assert float(metrics["gloss_xent"]) == 0.0

  # And an independent forward pass through losses.total_loss agrees.
  @jax.jit
  def plain_loss(state, batch):
    model, _ = nnx.merge(setup.graphdef, state, copy=True)
    return losses.total_loss(model(batch, train=True), batch,
                             setup.cfg.model)[0]
  want = plain_loss(setup.state, _on_mesh(host_batches[2], setup.mesh))
  assert np.asarray(want).tobytes() == np.asarray(metrics["loss"]).tobytes()


@pytest.fixture(scope="module")
def single_device_result(setup, host_batches):
  """One step on a 1-device mesh: the reference for the sharded steps."""
  return _step_on_mesh(setup, dict(data=1, fsdp=1, tensor=1),
                       host_batches[0], jax.devices()[:1])


def _step_on_mesh(setup, axes, host_batch, devices):
  mesh_cfg = ml_collections.ConfigDict(setup.cfg.mesh.to_dict())
  mesh_cfg.update(axes)
  mesh = sharding.make_mesh(mesh_cfg, devices=devices)
  cfg = ml_collections.ConfigDict(setup.cfg.to_dict())
  cfg.mesh = mesh_cfg
  local = dataclasses.replace(setup, cfg=cfg, sdef=state_lib.define(
      cfg, vocab_size=setup.sdef.vocab_size, mesh=mesh))
  state = jax.device_put(_copy(setup.state), local.state_shardings)
  step = testing.train_step(local)
  new_state, _, metrics = step(state, None, _on_mesh(host_batch, mesh))
  return testing.flat_state(new_state), jax.device_get(metrics)


@pytest.mark.parametrize("axes", [
    dict(data=8, fsdp=1, tensor=1),   # data parallel
    dict(data=2, fsdp=4, tensor=1),   # FSDP (+ data)
    dict(data=4, fsdp=1, tensor=2),   # tensor parallel (+ data)
], ids=["data8", "data2_fsdp4", "data4_tensor2"])
def test_sharded_step_equals_single_device_step(setup, host_batches,
                                                single_device_result, axes):
  want_state, want = single_device_result
  got_state, got = _step_on_mesh(setup, axes, host_batches[0], jax.devices())
  np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)
  np.testing.assert_allclose(got["grad_norm"], want["grad_norm"], rtol=1e-5)
  scale = {k: max(np.abs(v).max() for n, v in want_state.items()
                  if f"'{k}'" in n) for k in ("mu", "nu")}
  lr = setup.cfg.optim.lr
  for name, value in want_state.items():
    kind = next((k for k in scale if f"'{k}'" in name), None)
    if kind:  # Adam's moments: the gradients, elementwise
      np.testing.assert_allclose(got_state[name], value, rtol=1e-5,
                                 atol=1e-5 * scale[kind], err_msg=name)
    elif np.issubdtype(value.dtype, np.floating):
      # Adam's first step moves each weight by ~lr * g / |g|: where the true
      # gradient is 0 (e.g. attention key biases), float noise decides it.
      np.testing.assert_allclose(got_state[name], value, rtol=1e-5,
                                 atol=0.05 * lr, err_msg=name)
    else:  # counters, RNG keys
      np.testing.assert_array_equal(got_state[name], value, err_msg=name)


def _rl_setup(mode):
  # Batch 16 with half of it replayed: 8 replay rows, one per data shard
  # (with batch 8 the 25% default rounds down to 0 rows on 8 shards).
  return testing.build_setup(testing.smoke_config(
      f"rl.mode={mode}", "data.batch_size=16", "rl.replay_fraction=0.5"))


@pytest.mark.parametrize("mode", ["rl", "rl_plc"])
def test_rl_modes_run_in_the_jitted_step_on_8_devices(mode):
  setup = _rl_setup(mode)
  assert setup.mesh.size == 8
  cfg = setup.cfg
  it = pipeline.make_train_iterator(cfg.data, mesh=setup.mesh)
  batch = next(it)
  rl_state = state_lib.init_rl_state(setup.sdef, batch)
  step = testing.train_step(setup, batch)
  state = _copy(setup.state)
  # The same batch twice: the second step can replay the first one's rows.
  for i in range(2):
    state, rl_state, metrics = step(state, rl_state, batch)
    metrics = jax.device_get(metrics)
    assert np.isfinite(metrics["loss"]) and int(metrics["nonfinite"]) == 0
    # The skip rule ("below the batch's median reward") keeps about half.
    assert 1 <= metrics["rl/kept"] < 16 + 8, metrics
    assert metrics["rl/skipped_frac"] > 0
  if mode == "rl_plc":
    assert int(metrics["rl/replayed"]) == 8
    assert int(np.asarray(rl_state.replay.size).sum()) == 16
    # A non-finite step stores, refreshes and moves nothing: the replay
    # (items, rewards, ids, ring position) stays bit-identical.
    bad = dict(jax.device_get(next(it)))
    bad["pose"] = bad["pose"].copy()
    bad["pose"][0, 0, 0] = np.nan
    replay_before = jax.device_get(rl_state)
    state_before = testing.flat_state(state)
    state, rl_state, metrics = step(state, rl_state,
                                    _on_mesh(bad, setup.mesh))
    assert int(metrics["nonfinite"]) == 1
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(rl_state),
                 replay_before)
    for name, value in testing.flat_state(state).items():
      np.testing.assert_array_equal(value, state_before[name], err_msg=name)
  else:
    assert rl_state.replay is None and "rl/replayed" not in metrics
    # Every example skipped (here: none is real): no update at all, not even
    # Adam's momentum on zero gradients.
    empty = dict(jax.device_get(batch))
    empty["example_mask"] = np.zeros_like(empty["example_mask"])
    before = testing.flat_state(state)
    state, rl_state, metrics = step(state, rl_state,
                                    _on_mesh(empty, setup.mesh))
    assert int(metrics["rl/all_skipped"]) == 1
    for name, value in testing.flat_state(state).items():
      np.testing.assert_array_equal(value, before[name], err_msg=name)
