"""Pose / token decoders: causality, masking, cache equivalence, options."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from signllm_jax.model import pose_decoder
from tests.model import helpers


fwd = helpers.forward


def _encdec(model):
  return model.group(1)


@pytest.fixture(scope="module")
def model():
  return helpers.build()


@pytest.fixture(scope="module")
def batch():
  return helpers.make_batch()


def _decoder_fn(encdec, batch):
  """f(frames_in) -> teacher-forced predictions."""
  enc = encdec.encode(batch["text"], batch["text_mask"])

  def f(frames_in):
    return encdec.decoder(frames_in, enc, batch["text_mask"], train=False)[0]
  return f


def test_decoder_is_causal(model, batch):
  frames_in = pose_decoder.shift_right(batch["pose"])
  t = 4

  @nnx.jit
  def run(model):
    f = _decoder_fn(_encdec(model), batch)
    grad = jax.grad(lambda x: f(x)[:, t].sum())(frames_in)
    return grad, f(frames_in), f(frames_in.at[:, t + 1:].set(7.0))

  grad, out, out_changed = run(model)
  assert np.abs(np.asarray(grad[:, t + 1:])).max() == 0.0
  assert np.abs(np.asarray(grad[:, :t + 1])).max() > 0.0
  np.testing.assert_array_equal(out[:, :t + 1], out_changed[:, :t + 1])


def test_padding_frames_and_tokens_change_nothing(model, batch):
  out = fwd(model, batch)["pose"]
  pad_frames = ~batch["pose_mask"]
  pad_tokens = ~batch["text_mask"]
  noisy = dict(batch,
               pose=jnp.where(pad_frames[..., None], 5.0, batch["pose"]),
               text=jnp.where(pad_tokens, 7, batch["text"]))
  out2 = fwd(model, noisy)["pose"]
  real = np.asarray(batch["pose_mask"])
  np.testing.assert_allclose(np.asarray(out)[real], np.asarray(out2)[real],
                             atol=1e-6)


def _scan_steps(step, cache, tokens_BxT, t0):
  """Feeds tokens_BxT[:, i] at cache index t0 + i; stacks the outputs."""
  def body(cache, xs):
    t, x_B = xs
    out, cache = step(x_B[:, None], cache, t)
    return cache, out[:, 0]
  ts = t0 + jnp.arange(tokens_BxT.shape[1], dtype=jnp.int32)
  _, outs = jax.lax.scan(body, cache, (ts, jnp.moveaxis(tokens_BxT, 1, 0)))
  return jnp.moveaxis(outs, 0, 1)


def test_cached_decoding_equals_teacher_forcing(model, batch):
  mask = batch["text_mask"]
  frames_in = pose_decoder.shift_right(batch["pose"])

  @nnx.jit
  def run(model):
    encdec = model.group(1)
    enc = encdec.encode(batch["text"], mask)
    full, _ = encdec.decode(frames_in, enc, mask, train=False)
    cache = encdec.decoder.init_cache(*frames_in.shape[:2], enc)
    # A 2-frame prefill, then single frames: both cache paths are exercised.
    first, cache = encdec.decode(frames_in[:, :2], enc, mask, train=False,
                                 cache=cache, cache_index=0)
    rest = _scan_steps(
        lambda x, c, t: encdec.decode(x, enc, mask, train=False, cache=c,
                                      cache_index=t),
        cache, frames_in[:, 2:], 2)
    return full, jnp.concatenate([first, rest], 1)

  full, stepped = run(model)
  np.testing.assert_allclose(np.asarray(stepped), np.asarray(full),
                             atol=1e-5)


def test_bf16_compute_keeps_float32_params_and_outputs(batch):
  model = helpers.build(compute_dtype="bfloat16")
  dtypes = {x.dtype for x in jax.tree.leaves(nnx.state(model, nnx.Param))}
  assert dtypes == {jnp.dtype(jnp.float32)}
  out = fwd(model, batch)["pose"]
  assert out.dtype == jnp.float32 and np.isfinite(np.asarray(out)).all()


def test_token_decoder_cache_equals_full(batch):
  model = helpers.build(mode="p2lg")
  tokens = batch["lang_gloss"]
  mask = batch["prompt_mask"]

  @nnx.jit
  def run(stage1):
    enc = stage1.encode(batch["prompt"], mask)
    full, _ = stage1.decoder(tokens, enc, mask)
    cache = stage1.decoder.init_cache(*tokens.shape, enc)
    stepped = _scan_steps(
        lambda x, c, t: stage1.decoder(x, enc, mask, cache=c, cache_index=t),
        cache, tokens, 0)
    return full, stepped

  full, stepped = run(model.gloss)
  np.testing.assert_allclose(np.asarray(stepped), np.asarray(full),
                             atol=1e-5)


def test_future_prediction_shape():
  batch = helpers.make_batch()
  model = helpers.build(future_prediction=3)
  out = fwd(model, batch)["pose"]
  assert out.shape == batch["pose"].shape[:2] + (3 * helpers.F,)


@nnx.jit
def _train_train_eval(model, batch):
  """Two training forwards (fresh randomness each) and one eval forward."""
  return (model(batch, train=True)["pose"], model(batch, train=True)["pose"],
          model(batch, train=False)["pose"])


def test_input_noise_only_in_training_and_never_on_counter(batch):
  a, b, eval_out = _train_train_eval(helpers.build(input_noise_std=0.5),
                                     batch)
  assert not np.allclose(a, eval_out) and not np.allclose(a, b)
  # A counter-only decoder never sees the (noised) joint channels.
  a, _, eval_out = _train_train_eval(
      helpers.build(input_noise_std=0.5, counter_only_input=True), batch)
  np.testing.assert_allclose(a, eval_out, atol=1e-6)


def test_counter_only_ignores_joint_inputs(batch):
  model = helpers.build(counter_only_input=True)
  changed = dict(batch, pose=batch["pose"].at[..., :-1].add(3.0))
  np.testing.assert_array_equal(fwd(model, batch)["pose"],
                                fwd(model, changed)["pose"])


def test_dropout_is_random_in_training_only(batch):
  a, b, eval_out = _train_train_eval(helpers.build(dropout=0.3), batch)
  assert not np.allclose(a, b)
  assert not np.allclose(a, eval_out)


def test_guided_attention_returns_the_cross_attention_in_training(batch):
  """With a guided-attention weight the training forward also returns the
  cross-attention weights (rows sum to 1 over the real tokens); the poses
  are the same as without it, and inference returns poses only."""
  plain = helpers.build(shared_multilingual=True)
  guided = helpers.build(shared_multilingual=True,
                         guided_attention_weight=1.0)
  out = fwd(guided, batch, train=True)
  probs = np.asarray(out["cross_attn"])
  b, t = batch["pose"].shape[:2]
  assert probs.shape == (b, t, batch["text"].shape[1])
  np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
  assert np.all(probs[~np.asarray(batch["text_mask"])[:, None, :]
                      .repeat(t, 1)] < 1e-6)
  np.testing.assert_allclose(out["pose"], fwd(plain, batch, train=True)["pose"],
                             rtol=1e-6, atol=1e-6)
  assert "cross_attn" not in fwd(guided, batch, train=False)
  with pytest.raises(ValueError, match="continuous pose decoder"):
    helpers.build(guided_attention_weight=1.0, pose_decoder="tokens",
                  tokenizer_channels=8)
