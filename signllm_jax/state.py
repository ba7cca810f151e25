"""Model + optimizer state: defined, sharded, initialised and its steps
compiled, in one place.

Everything that runs the model goes through here: the trainer, `signllm
bench`, AOT compilation for a TPU topology (`aot.py`) and inference
(`workdir.py`, parameters only, never an optimizer). So the step that AOT
compiles is the trainer's step: same function, same in/out shardings, same
donation, same fresh/replayed row split (tests/test_state.py compares the
lowered HLO for every rl mode).

Flow: `define(cfg, vocab_size=, mesh=)` builds the abstract (model,
optimizer) state under eval_shape (nothing allocated) with one NamedSharding
per leaf from the logical axis rules; `init` materialises it sharded;
`train_step` / `eval_step` jit the pure steps of `steps.py` with explicit
in/out shardings, donating the state and the RL state.
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from signllm_jax import languages
from signllm_jax import optim
from signllm_jax import rl
from signllm_jax import sharding
from signllm_jax import skeleton
from signllm_jax import steps
from signllm_jax.model import signllm


@dataclasses.dataclass(frozen=True)
class StateDef:
  """The abstract training state of a config on a mesh."""
  cfg: Any
  mesh: Mesh
  graphdef: Any
  abstract: Any  # nnx.State of ShapeDtypeStructs, each with its sharding
  shardings: Any  # NamedSharding per leaf of `abstract`
  vocab_size: int
  num_langs: int

  @property
  def group_mask(self) -> Any:
    """The MLSF group leaves (slice update), None for other models."""
    if not steps.is_stacked_mlsf(self.cfg.model):
      return None
    return steps.group_leaf_mask(self.abstract, self.num_langs)

  @property
  def fresh_rows(self) -> int:
    """Fresh data rows per step: rl.replay_mix "replace" takes the replayed
    rows out of data.batch_size."""
    return rl.fresh_batch_size(self.cfg.data.batch_size, self.cfg.rl,
                               rl.num_shards(self.mesh))

  @property
  def replay_rows(self) -> int:
    return rl.replay_batch_size(self.cfg.data.batch_size, self.cfg.rl,
                                rl.num_shards(self.mesh))


def _build_model(model_cfg, vocab_size: int, seed: int):
  return signllm.build_model(model_cfg, vocab_size=vocab_size,
                             num_langs=languages.NUM_LANGS,
                             rngs=nnx.Rngs(seed))


def with_shardings(abstract, shardings):
  """ShapeDtypeStructs carrying their shardings (shardings is a prefix of
  `abstract`: one per Variable; the leaves pair by order)."""
  return jax.tree.unflatten(jax.tree.structure(abstract), [
      jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s)
      for x, s in zip(jax.tree.leaves(abstract), jax.tree.leaves(shardings))])


def define(cfg, *, vocab_size: int, mesh: Mesh,
           total_steps: int | None = None) -> StateDef:
  """The abstract (model, optimizer) state of `cfg` on `mesh`."""
  tx = optim.make_optimizer(cfg.optim, total_steps or cfg.train.steps,
                            num_groups=steps.stacked_groups(cfg.model))

  def create():
    model = _build_model(cfg.model, vocab_size, cfg.seed)
    # Inside eval_shape too: nnx.Optimizer(abstract_model) would allocate
    # real Adam moments, and reduce_on_plateau's init cannot take abstract
    # parameters.
    return model, nnx.Optimizer(model, tx, wrt=nnx.Param)

  with nnx.use_eager_sharding(False):
    graphdef, abstract = nnx.split(nnx.eval_shape(create))
  shardings = sharding.state_shardings(abstract, mesh,
                                       sharding.logical_rules(cfg.mesh))
  return StateDef(cfg=cfg, mesh=mesh, graphdef=graphdef,
                  abstract=with_shardings(abstract, shardings),
                  shardings=shardings, vocab_size=int(vocab_size),
                  num_langs=languages.NUM_LANGS)


def init(sdef: StateDef) -> Any:
  """The initial state, each leaf created in place on its shards."""
  def create():
    model = _build_model(sdef.cfg.model, sdef.vocab_size, sdef.cfg.seed)
    return nnx.state((model, nnx.Optimizer(
        model, optim.make_optimizer(
            sdef.cfg.optim, sdef.cfg.train.steps,
            num_groups=steps.stacked_groups(sdef.cfg.model)),
        wrt=nnx.Param)))
  with nnx.use_eager_sharding(False):
    return jax.jit(create, out_shardings=sdef.shardings)()


def install_params(state, name: str, source_module, what: str):
  """`state` (model, optimizer) with the values of its sub-module `name`
  (e.g. the frozen pose tokenizer or stage 1) set to `source_module`'s
  parameters (each put on the leaf's sharding). Raises ValueError, naming
  `what`, when the architectures differ."""
  target = state[0][name]
  old = nnx.to_pure_dict(target)
  new = nnx.to_pure_dict(nnx.state(source_module, nnx.Param))
  if jax.tree.structure(old) != jax.tree.structure(new):
    raise ValueError(f"the trained {what}'s parameters do not match this "
                     f"model's {what}")
  for a, b in zip(jax.tree.leaves(old), jax.tree.leaves(new)):
    if a.shape != b.shape:
      raise ValueError(f"{what} parameter shape {b.shape} != this model's "
                       f"{a.shape}")
  nnx.replace_by_pure_dict(target, jax.tree.map(
      lambda n, o: jax.device_put(n, o.sharding), new, old))
  return state


def install_pose_tokenizer(state, tokenizer_model):
  """The trained pose tokenizer's weights in the model's frozen copy."""
  return install_params(state, "pose_tokenizer", tokenizer_model,
                        "pose tokenizer (model.tokenizer_* fields)")


def model_def(model_cfg, *, vocab_size: int, seed: int = 0
              ) -> tuple[Any, Any]:
  """(graphdef, abstract parameter state) of the model alone: the restore
  target of inference, with no optimizer."""
  with nnx.use_eager_sharding(False):
    return nnx.split(nnx.eval_shape(
        lambda: _build_model(model_cfg, vocab_size, seed)))


# --------------------------------------------------------------------------
# Step inputs: batch and RL state, abstract (AOT, bench) or concrete.


def abstract_batch(cfg, mesh: Mesh, *, rows: int,
                   frames: int | None = None) -> dict:
  """ShapeDtypeStructs of a training batch of `rows` rows, sharded over the
  batch axes: the keys, dtypes and padded lengths the pipeline serves."""
  frames = int(frames or cfg.data.max_frames)
  d = cfg.data
  shapes = {
      "text": ((rows, d.max_text_len), jnp.int32),
      "text_mask": ((rows, d.max_text_len), jnp.bool_),
      "prompt": ((rows, d.max_prompt_len), jnp.int32),
      "prompt_mask": ((rows, d.max_prompt_len), jnp.bool_),
      "lang_gloss": ((rows, d.max_gloss_len), jnp.int32),
      "lang_gloss_mask": ((rows, d.max_gloss_len), jnp.bool_),
      "lang": ((rows,), jnp.int32),
      "pose": ((rows, frames, skeleton.FRAME_DIM), jnp.float32),
      "pose_mask": ((rows, frames), jnp.bool_),
      "length": ((rows,), jnp.int32),
      "idx": ((rows,), jnp.int32),
      "example_mask": ((rows,), jnp.bool_),
  }
  sh = sharding.batch_sharding(mesh)
  return {k: jax.ShapeDtypeStruct(s, t, sharding=sh)
          for k, (s, t) in shapes.items()}


def rl_shardings(abstract_rl: Any, mesh: Mesh) -> Any:
  """The replay split over the batch axes, everything else replicated."""
  if abstract_rl is None:
    return None
  split = NamedSharding(mesh, P(rl.batch_axes(mesh)))
  rep = sharding.replicated(mesh)

  def pick(path, _):
    in_replay = any(getattr(k, "name", getattr(k, "key", None)) == "replay"
                    for k in path)
    return split if in_replay else rep
  return jax.tree_util.tree_map_with_path(pick, abstract_rl)


def _replay_item(cfg, example_batch):
  """What the replay stores per row (rl_plc only; other modes keep none)."""
  if cfg.rl.mode != "rl_plc":
    return None
  if example_batch is None:
    raise ValueError("rl.mode=rl_plc needs an example batch for the "
                     "replay's row shapes")
  return steps.replay_item_spec(example_batch,
                                max_frames=cfg.data.max_frames)


def abstract_rl_state(sdef: StateDef, example_batch: dict | None) -> Any:
  """The RL state as ShapeDtypeStructs with their shardings (None in mode
  "mse"); the replay (rl_plc) stores rows at data.max_frames, shaped as
  `example_batch`'s."""
  cfg = sdef.cfg
  if not rl.has_state(cfg.rl):
    return None
  item = _replay_item(cfg, example_batch)
  abstract = jax.eval_shape(lambda: rl.init_state(
      cfg.rl, example_batch=item, shards=rl.num_shards(sdef.mesh)))
  shardings = rl_shardings(abstract, sdef.mesh)
  return jax.tree.map(
      lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
      abstract, shardings)


def init_rl_state(sdef: StateDef, example_batch: dict | None) -> Any:
  """The initial RL state on the mesh, laid out as `abstract_rl_state`."""
  cfg = sdef.cfg
  if not rl.has_state(cfg.rl):
    return None
  item = _replay_item(cfg, example_batch)
  target = abstract_rl_state(sdef, example_batch)
  return jax.jit(lambda: rl.init_state(
      cfg.rl, example_batch=item, shards=rl.num_shards(sdef.mesh)),
                 out_shardings=jax.tree.map(lambda x: x.sharding, target))()


# --------------------------------------------------------------------------
# The compiled steps.


def train_step(sdef: StateDef, abstract_rl: Any = None):
  """jit(steps.make_train_step): train_step(state, rl_state, batch) ->
  (state, rl_state, metrics), state and rl_state donated.

  `abstract_rl` (from `abstract_rl_state`; None in mode "mse") gives the RL
  state's shardings. The batch is split over the batch axes; metrics are
  replicated scalars.
  """
  cfg = sdef.cfg
  fn = steps.make_train_step(
      sdef.graphdef, model_cfg=cfg.model, rl_cfg=cfg.rl,
      group_mask=sdef.group_mask, plateau=cfg.optim.schedule == "plateau",
      mesh=sdef.mesh, seed=cfg.seed, num_replay=sdef.replay_rows)
  rl_sh = None if abstract_rl is None else jax.tree.map(
      lambda x: x.sharding, abstract_rl)
  batch_sh = sharding.batch_sharding(sdef.mesh)
  rep = sharding.replicated(sdef.mesh)
  return jax.jit(fn, in_shardings=(sdef.shardings, rl_sh, batch_sh),
                 out_shardings=(sdef.shardings, rl_sh, rep),
                 donate_argnums=(0, 1))


def eval_step(sdef: StateDef):
  """jit(steps.make_eval_step): eval_step(state, batch) -> sums."""
  fn = steps.make_eval_step(sdef.graphdef, model_cfg=sdef.cfg.model)
  return jax.jit(fn, in_shardings=(sdef.shardings,
                                   sharding.batch_sharding(sdef.mesh)),
                 out_shardings=sharding.replicated(sdef.mesh))


def lower_train_step(sdef: StateDef, *, frames: int | None = None):
  """The trainer's step lowered on abstract inputs: `fresh_rows` rows of
  `frames` (default data.max_frames) frames and the RL state of cfg.rl."""
  batch = abstract_batch(sdef.cfg, sdef.mesh, rows=sdef.fresh_rows,
                         frames=frames)
  rl_abs = abstract_rl_state(sdef, batch)
  return train_step(sdef, rl_abs).lower(sdef.abstract, rl_abs, batch)
