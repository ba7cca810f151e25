"""Tiny configs and batches shared by the model and generation tests."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from signllm_jax import model as model_lib

VOCAB = 24
NUM_LANGS = 3
F = 151


def smoke_cfg(**overrides):
  cfg = model_lib.model_config("smoke")
  for k, v in overrides.items():
    cfg[k] = v
  return cfg


def build(seed=0, *, real_init=False, **overrides):
  """A smoke model.

  By default the parameters are drawn with numpy on top of an abstract model:
  compiling flax's random initialisers costs seconds per config on the
  shared CPUs, and these tests are about behaviour, not initial scales.
  `real_init=True` runs the real initialisers (one compiled program).
  """
  cfg = smoke_cfg(**overrides)

  def create():
    return model_lib.build_model(cfg, vocab_size=VOCAB, num_langs=NUM_LANGS,
                                 rngs=nnx.Rngs(seed))
  graphdef, abstract = nnx.split(nnx.eval_shape(create))
  if real_init:
    return nnx.merge(graphdef, jax.jit(lambda: nnx.split(create())[1])())
  rng = np.random.default_rng(seed)

  def fill(path, x):
    name = [getattr(k, "key", getattr(k, "name", None)) for k in path][-2]
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      return jax.random.key(seed, impl="rbg")  # compiles faster
    if not jnp.issubdtype(x.dtype, jnp.floating):
      return jnp.zeros(x.shape, x.dtype)
    if name == "noise_scale":
      return jnp.ones(x.shape, x.dtype)
    std = {"table": 1.0, "scale": 0.05}.get(name, 0.15 if x.ndim > 1 and
                                             x.shape[-1] > 1 else 0.02)
    value = rng.normal(0.0, std, x.shape) + (name == "scale")
    return jnp.asarray(value, x.dtype)
  return nnx.merge(graphdef,
                   jax.tree_util.tree_map_with_path(fill, abstract))


@functools.partial(nnx.jit, static_argnames=("train",))
def forward(model, batch, *, train=False):
  """model(batch, train=train), compiled (RNG state updates propagate)."""
  return model(batch, train=train)


def make_batch(*, b=3, l=6, g=7, t=9, lang=1, seed=0):
  """A deterministic batch with ragged text, gloss and pose lengths."""
  rng = np.random.default_rng(seed)
  text_len = np.array([l, l - 2, 1, l - 1][:b])
  gloss_len = np.array([g, g - 3, 3, g - 1][:b])
  length = np.array([t, t - 4, 2, t - 1][:b])
  text_mask = np.arange(l)[None] < text_len[:, None]
  gloss_mask = np.arange(g)[None] < gloss_len[:, None]
  pose_mask = np.arange(t)[None] < length[:, None]
  text = np.where(text_mask, rng.integers(3, VOCAB, (b, l)), 0)
  gloss = np.where(gloss_mask, rng.integers(3, VOCAB, (b, g)), 0)
  gloss[:, 0] = 1
  gloss[np.arange(b), gloss_len - 1] = 2
  joints = rng.normal(size=(b, t, F - 1)).astype(np.float32)
  counter = (np.arange(t)[None] + 1) / length[:, None]
  pose = np.concatenate([joints, counter[..., None]], -1).astype(np.float32)
  pose = np.where(pose_mask[..., None], pose, 0.0)
  return {
      "text": jnp.asarray(text, jnp.int32),
      "text_mask": jnp.asarray(text_mask),
      "prompt": jnp.asarray(text, jnp.int32),
      "prompt_mask": jnp.asarray(text_mask),
      "lang_gloss": jnp.asarray(gloss, jnp.int32),
      "lang_gloss_mask": jnp.asarray(gloss_mask),
      "lang": jnp.full((b,), lang, jnp.int32),
      "pose": jnp.asarray(pose),
      "pose_mask": jnp.asarray(pose_mask),
      "length": jnp.asarray(length, jnp.int32),
      "idx": jnp.arange(b, dtype=jnp.int32),
      "example_mask": jnp.ones((b,), bool),
  }


def take(batch, i):
  """Row i of a batch as a batch of one."""
  return jax.tree.map(lambda x: x[i:i + 1], batch)
