"""Pure, jittable train and eval steps. No Python state, no logging, no clocks.

`state` is the nnx state of (model, optimizer); `graphdef` is closed over. The
trainer jits these with in/out shardings and donates `state`.
"""

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from signllm_jax import losses
from signllm_jax import rl


def _tree_select(keep_new, new, old):
  return jax.tree.map(lambda n, o: jnp.where(keep_new, n, o), new, old)


def _group_select(new_state, old_state, group_mask, lang):
  """Idle MLSF groups keep params AND Adam moments bit-identical.

  A zero gradient still moves Adam parameters through momentum (STACK.md), so
  every leaf with a leading language axis takes the new value only in the
  batch's own group.
  """
  def select(n, o, is_group):
    if not is_group:
      return n
    onehot = (jnp.arange(n.shape[0]) == lang).reshape(
        (n.shape[0],) + (1,) * (n.ndim - 1))
    return jnp.where(onehot, n, o)
  return jax.tree.map(select, new_state, old_state, group_mask)


def make_train_step(graphdef, *, model_cfg, rl_cfg, group_mask=None,
                    plateau: bool = False) -> Callable:
  """Returns train_step(state, rl_state, batch) -> (state, rl_state, metrics)."""

  def train_step(state, rl_state, batch):
    model, optimizer = nnx.merge(graphdef, state)

    def loss_fn(model):
      out = model(batch, train=True)
      _, aux = losses.total_loss(out, batch, model_cfg)
      loss, rl_metrics, new_rl_state = rl.objective(
          aux["per_example_loss"], aux["per_example_mse"], rl_cfg,
          example_mask_B=batch["example_mask"], rl_state=rl_state)
      return loss, (aux, rl_metrics, new_rl_state)

    (loss, (aux, rl_metrics, new_rl_state)), grads = nnx.value_and_grad(
        loss_fn, has_aux=True)(model)
    grad_norm = optax.global_norm(grads)
    if plateau:
      optimizer.update(model, grads, value=loss)
    else:
      optimizer.update(model, grads)
    new_state = nnx.state((model, optimizer))
    if group_mask is not None:
      new_state = _group_select(new_state, state, group_mask, batch["lang"][0])
    # A non-finite loss or gradient skips the whole update (counted on host).
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    new_state = _tree_select(finite, new_state, state)
    new_rl_state = _tree_select(finite, new_rl_state, rl_state)
    metrics = {
        "loss": loss,
        "grad_norm": grad_norm,
        "nonfinite": jnp.logical_not(finite).astype(jnp.int32),
        "frames": jnp.sum(batch["pose_mask"].astype(jnp.int32)),
        **{k: v for k, v in aux.items() if not k.startswith("per_example")},
        **rl_metrics,
    }
    return new_state, new_rl_state, metrics

  return train_step


def make_eval_step(graphdef, *, model_cfg) -> Callable:
  """Teacher-forced validation loss; per-example values for exact averaging."""

  def eval_step(state, batch):
    model, _ = nnx.merge(graphdef, state)
    out = model(batch, train=False)
    _, aux = losses.total_loss(out, batch, model_cfg)
    mask = batch["example_mask"].astype(jnp.float32)
    return {
        "loss_sum": jnp.sum(aux["per_example_loss"] * mask),
        "mse_sum": jnp.sum(aux["per_example_mse"] * mask),
        "count": jnp.sum(mask),
    }

  return eval_step


def group_leaf_mask(state: Any, num_langs: int) -> Any:
  """True for leaves under a `groups` node (stacked along the language axis)."""
  def is_group(path, leaf):
    names = [getattr(k, "key", getattr(k, "name", None)) for k in path]
    return ("groups" in names and hasattr(leaf, "shape") and leaf.ndim >= 1
            and leaf.shape[0] == num_langs)
  return jax.tree_util.tree_map_with_path(is_group, state)
