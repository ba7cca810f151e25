"""The multi-stream FSQ pose tokenizer: shapes, consistency, learning."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from flax import nnx

from signllm_jax import skeleton
from signllm_jax.model import fsq
from signllm_jax.model import pose_tokenizer as tok_lib


def _cfg(**kw):
  return ml_collections.ConfigDict({
      "tokenizer_channels": 32, "tokenizer_downsample": 4,
      "fsq_levels": (8, 5, 5, 5), **kw})


# Like a pose, few degrees of freedom drive many coordinates: two slow
# random-phase sinusoids, mixed into all coordinates by a fixed matrix.
_MIX_2xF = jax.random.normal(jax.random.key(7), (2, skeleton.FRAME_DIM)) / 2


def _smooth_frames(key, b=8, t=32):
  k1, k2 = jax.random.split(key)
  freq_Bx1x2 = jax.random.uniform(k1, (b, 1, 2), minval=0.02, maxval=0.06)
  phase_Bx1x2 = jax.random.uniform(k2, (b, 1, 2), maxval=2 * np.pi)
  z_BxTx2 = jnp.sin(2 * np.pi * freq_Bx1x2 * jnp.arange(t)[None, :, None]
                    + phase_Bx1x2)
  return (z_BxTx2 @ _MIX_2xF).astype(jnp.float32)


def _batch(frames):
  b, t, _ = frames.shape
  return {"pose": frames, "pose_mask": jnp.ones((b, t), bool),
          "example_mask": jnp.ones((b,), bool)}


def test_tokens_shapes_ranges_and_detokenize_consistency():
  model = tok_lib.PoseTokenizer(_cfg(), rngs=nnx.Rngs(0))
  x = _smooth_frames(jax.random.key(1), b=2, t=32)
  idx = model.tokenize(x)
  assert set(idx) == set(tok_lib.PART_NAMES)
  for v in idx.values():
    assert v.shape == (2, 8) and v.dtype == jnp.int32
    assert int(v.min()) >= 0 and int(v.max()) < fsq.codebook_size((8, 5, 5, 5))
  out = model(_batch(x), train=False)
  assert out["recon"].shape == (2, 32, skeleton.POSE_DIM)
  # Decoding the indices gives exactly the forward pass's reconstruction.
  np.testing.assert_allclose(model.detokenize(idx), out["recon"],
                             rtol=1e-5, atol=1e-5)
  for name in tok_lib.PART_NAMES:
    np.testing.assert_array_equal(out["indices"][name], idx[name])


def test_bad_frame_counts_and_downsampling_are_refused():
  model = tok_lib.PoseTokenizer(_cfg(), rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="multiple of"):
    model.tokenize(jnp.zeros((1, 30, skeleton.FRAME_DIM)))
  with pytest.raises(ValueError, match="power of 2"):
    tok_lib.PoseTokenizer(_cfg(tokenizer_downsample=3), rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="unknown part"):
    tok_lib.part_coords("tail")


def test_learns_a_smooth_signal_below_a_stated_error():
  """300 Adam steps on smooth low-rank signals: the round trip's MSE falls
  below 10% of the signal's variance (it starts above half of it)."""
  model = tok_lib.PoseTokenizer(_cfg(), rngs=nnx.Rngs(0))
  opt = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)

  @nnx.jit
  def step(model, opt, key):
    batch = _batch(_smooth_frames(key))
    def loss_fn(model):
      return tok_lib.reconstruction_loss(model(batch, train=True), batch)[0]
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    opt.update(model, grads)
    return loss

  test = _batch(_smooth_frames(jax.random.key(999)))
  variance = float(jnp.var(test["pose"][..., :skeleton.POSE_DIM]))
  first = float(tok_lib.reconstruction_loss(model(test, train=False),
                                            test)[0])
  for i in range(300):
    step(model, opt, jax.random.key(i))
  last, aux = tok_lib.reconstruction_loss(model(test, train=False), test)
  assert first > 0.5 * variance
  assert float(last) < 0.1 * variance, (float(last), variance)
  assert set(aux) >= {"mse_body", "mse_left_hand", "mse_right_hand"}
