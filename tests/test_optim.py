"""optim.make_optimizer: the spelled-out Adam chain and per-group counts."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from signllm_jax import optim


def _cfg(**kw):
  cfg = dict(name="adam", lr=1e-2, b1=0.9, b2=0.999, eps=1e-8,
             weight_decay=0.0, clip_norm=5.0, schedule="cosine",
             warmup_steps=3, final_lr_frac=0.1)
  cfg.update(kw)
  return ml_collections.ConfigDict(cfg)


def _grads(i, shape):
  return {"w": jnp.sin(jnp.arange(np.prod(shape), dtype=jnp.float32) + i
                       ).reshape(shape)}


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_chain_equals_optax_reference(name):
  cfg = _cfg(name=name, weight_decay=0.1)
  schedule = optim.learning_rate_schedule(cfg, 20)
  ref_opt = (optax.adam(schedule, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
             if name == "adam" else
             optax.adamw(schedule, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps,
                         weight_decay=cfg.weight_decay))
  ref = optax.chain(optax.clip_by_global_norm(cfg.clip_norm), ref_opt)
  ours = optim.make_optimizer(cfg, 20)
  params = {"w": jnp.ones((3, 4))}
  s_ref, s_ours = ref.init(params), ours.init(params)
  # Same state nesting: checkpoints of either restore into the other.
  assert jax.tree.structure(s_ref) == jax.tree.structure(s_ours)
  p_ref = p_ours = params
  for i in range(5):
    u_ref, s_ref = ref.update(_grads(i, (3, 4)), s_ref, p_ref)
    u_ours, s_ours = ours.update(_grads(i, (3, 4)), s_ours, p_ours)
    p_ref, p_ours = optax.apply_updates(p_ref, u_ref), optax.apply_updates(
        p_ours, u_ours)
  np.testing.assert_array_equal(p_ours["w"], p_ref["w"])


def test_per_group_count_runs_each_group_on_its_own_count():
  # Two groups stacked on axis 0; group 1 is updated after 3 updates of
  # group 0 and must take the step a fresh Adam takes on its first update.
  cfg = _cfg(schedule="constant", warmup_steps=0)
  tx = optim.make_optimizer(cfg, 10, num_groups=2)
  plain = optim.make_optimizer(cfg, 10)
  params = {"w": jnp.ones((2, 4))}
  state = tx.init(params)
  counts = [x for p, x in jax.tree_util.tree_leaves_with_path(state)
            if optim.is_per_group_count(p, x, 2)]
  assert len(counts) == 1 and counts[0].shape == (2,)

  def group_step(state, params, group, grads_1x4):
    cut = lambda x: x[group:group + 1] if x.shape[:1] == (2,) else x  # noqa: E731
    sub_state = jax.tree.map(cut, state)
    sub_params = jax.tree.map(cut, params)
    upd, new_sub = tx.update({"w": grads_1x4}, sub_state, sub_params)
    put = lambda x, n: (x.at[group:group + 1].set(n)  # noqa: E731
                        if x.shape[:1] == (2,) else n)
    return (jax.tree.map(put, state, new_sub),
            jax.tree.map(put, params, optax.apply_updates(sub_params, upd)))

  for i in range(3):
    state, params = group_step(state, params, 0, _grads(i, (1, 4))["w"])
  state, params = group_step(state, params, 1, _grads(9, (1, 4))["w"])
  fresh = plain.init({"w": jnp.ones((1, 4))})
  upd, _ = plain.update(_grads(9, (1, 4)), fresh, {"w": jnp.ones((1, 4))})
  np.testing.assert_allclose(params["w"][1], 1.0 + upd["w"][0], rtol=1e-6)
  counts = [x for p, x in jax.tree_util.tree_leaves_with_path(state)
            if optim.is_per_group_count(p, x, 2)]
  np.testing.assert_array_equal(counts[0], [3, 1])


def test_per_group_count_refuses_all_groups_at_once():
  tx = optim.make_optimizer(_cfg(), 10, num_groups=2)
  params = {"w": jnp.ones((2, 4))}
  with pytest.raises(ValueError, match="one group's slice"):
    tx.update({"w": jnp.ones((2, 4))}, tx.init(params), params)
