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
# random-phase sinusoids, mixed into all coordinates by a fixed matrix; like
# a hand, a hand hangs from its arm's wrist and its joints move with it
# plus a small shape term.
def _mix_2xF():
  mix = np.asarray(jax.random.normal(jax.random.key(7),
                                     (2, skeleton.FRAME_DIM))) / 2
  for hand, arm in ((skeleton.LEFT_HAND, skeleton.L_WRIST),
                    (skeleton.RIGHT_HAND, skeleton.R_WRIST)):
    mix[:, 3 * hand.start:3 * hand.start + 3] = mix[:, 3 * arm:3 * arm + 3] + (
        0.1 * mix[:, 3 * hand.start:3 * hand.start + 3])
    wrist = mix[:, 3 * hand.start:3 * hand.start + 3]
    for j in range(hand.start + 1, hand.stop):
      mix[:, 3 * j:3 * j + 3] = wrist + 0.1 * mix[:, 3 * j:3 * j + 3]
  return jnp.asarray(mix)


_MIX_2xF = _mix_2xF()


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
  # The loss lives in the streams' spaces (hands wrist-relative, scaled).
  targets = model(test, train=False)["stream_target"]
  variance = float(jnp.var(jnp.concatenate(
      [targets[name] for name in tok_lib.PART_NAMES], -1)))
  first = float(tok_lib.reconstruction_loss(model(test, train=False),
                                            test)[0])
  for i in range(300):
    step(model, opt, jax.random.key(i))
  last, aux = tok_lib.reconstruction_loss(model(test, train=False), test)
  assert first > 0.5 * variance
  assert float(last) < 0.1 * variance, (float(last), variance)
  assert set(aux) >= {"mse_body", "mse_left_hand", "mse_right_hand"}


def test_a_saturated_stream_is_pulled_back_into_the_live_range():
  """The left hand's collapse (module docstring): latents blown far past
  tanh's live range give the reconstruction (almost) no gradient, but the
  range penalty does, and a step along it brings |z| back; inside the range
  the penalty is 0."""
  model = tok_lib.PoseTokenizer(_cfg(), rngs=nnx.Rngs(0))
  batch = _batch(_smooth_frames(jax.random.key(3), b=4, t=32))
  _, aux = tok_lib.reconstruction_loss(model(batch, train=False), batch)
  assert float(aux["latent_penalty"]) == 0.0  # fresh init: in range
  stream = model.streams["left_hand"]
  stream.enc_out.kernel[...] = stream.enc_out.kernel[...] * 200.0
  x = tok_lib.stream_features(batch["pose"])["left_hand"]
  mean_abs_z = lambda: float(jnp.abs(stream.latent(x)).mean())
  before = mean_abs_z()
  assert before > 3 * tok_lib.LATENT_LIMIT

  def kernel_grad(term):
    def loss_fn(m):
      _, aux = tok_lib.reconstruction_loss(m(batch, train=True), batch)
      return aux[term]
    grads = nnx.grad(loss_fn)(model)
    return grads["streams"]["left_hand"]["enc_out"]["kernel"][...]

  g_recon = kernel_grad("stream_mse")
  g_penalty = kernel_grad("latent_penalty")
  assert float(jnp.linalg.norm(g_recon)) < 1e-3 * float(
      jnp.linalg.norm(g_penalty))
  k = stream.enc_out.kernel[...]
  stream.enc_out.kernel[...] = k - 0.2 * float(jnp.linalg.norm(k)) * (
      g_penalty / jnp.linalg.norm(g_penalty))
  assert mean_abs_z() < 0.9 * before, (mean_abs_z(), before)


def test_hand_streams_see_the_handshape_relative_to_the_wrist():
  """stream_features/frames_from_streams invert each other exactly; moving
  the arm with its hand changes only the body's features; bending one finger
  by d (in 8 frames) costs HAND_SCALE^2 times what it costs in pose
  coordinates."""
  rng = np.random.default_rng(0)
  frames = jnp.asarray(rng.normal(size=(2, 4, skeleton.FRAME_DIM)),
                       jnp.float32)
  feats = tok_lib.stream_features(frames)
  assert {k: v.shape[-1] for k, v in feats.items()} == {
      "body": 24, "left_hand": 63, "right_hand": 63}
  np.testing.assert_allclose(tok_lib.frames_from_streams(feats),
                             frames[..., :skeleton.POSE_DIM], atol=1e-5)
  shift = jnp.zeros((skeleton.NUM_JOINTS, 3)).at[skeleton.R_WRIST].set(
      [0.3, -0.2, 0.1]).at[skeleton.RIGHT_HAND].set([0.3, -0.2, 0.1])
  moved = tok_lib.stream_features(frames.at[..., :skeleton.POSE_DIM].add(
      shift.reshape(-1)))
  for part in ("left_hand", "right_hand"):
    np.testing.assert_allclose(moved[part], feats[part], atol=1e-5)
  assert not np.allclose(moved["body"], feats["body"])
  tip = 3 * (skeleton.RIGHT_HAND.start + 8)  # index fingertip, x
  d = tok_lib.stream_features(frames.at[..., tip].add(0.1))["right_hand"] - (
      feats["right_hand"])
  np.testing.assert_allclose(float(jnp.sum(d ** 2)),
                             tok_lib.HAND_SCALE ** 2 * 8 * 0.01, rtol=1e-4)
