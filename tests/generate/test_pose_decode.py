"""Cached pose generation: equivalences, counter stop, oracle timing."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from signllm_jax import generate
from signllm_jax.model import pose_decoder
from signllm_jax.model import signllm
from tests.model import helpers

MAX_LEN = 8


def _force_counter(decoder, value):
  """Makes the predicted counter the constant `value`."""
  out = decoder.out_proj
  out.kernel[...] = out.kernel[...].at[..., -1].set(0.0)
  out.bias[...] = out.bias[...].at[..., -1].set(value)


@pytest.fixture(scope="module")
def model():
  model = helpers.build()
  _force_counter(model.groups.decoder, -5.0)  # never stops
  return model


@pytest.fixture(scope="module")
def batch():
  return helpers.make_batch(lang=2)


@pytest.fixture(scope="module")
def generated(model, batch):
  return generate.generate_pose(model, batch, max_len=MAX_LEN)


def test_cached_generation_equals_teacher_forcing_on_its_output(
    model, batch, generated):
  frames = generated["pose"]
  assert frames.shape == (3, MAX_LEN, helpers.F)
  assert generated["timing"] == "predicted"
  np.testing.assert_array_equal(generated["lengths"], [MAX_LEN] * 3)
  tf = helpers.forward(model, dict(batch, pose=frames))["pose"]
  np.testing.assert_allclose(tf, frames, atol=1e-5)


def test_full_recompute_decoder_gives_the_same_frames(model, batch,
                                                      generated):
  full = generate.generate_pose(model, batch, max_len=MAX_LEN,
                                use_cache=False)
  np.testing.assert_allclose(full["pose"], generated["pose"], atol=1e-5)
  np.testing.assert_array_equal(full["lengths"], generated["lengths"])


def test_batch_and_single_generation_agree(model, batch, generated):
  for i in range(3):
    one = generate.generate_pose(model, helpers.take(batch, i),
                                 max_len=MAX_LEN)
    np.testing.assert_allclose(one["pose"][0], generated["pose"][i],
                               atol=1e-5)
    assert int(one["lengths"][0]) == int(generated["lengths"][i])


def test_group_is_selected_by_language(model, batch, generated):
  other = generate.generate_pose(model, dict(batch, lang=batch["lang"] * 0),
                                 max_len=MAX_LEN)
  assert not np.allclose(other["pose"], generated["pose"])


def test_counter_reaching_one_stops_at_the_first_frame():
  model = helpers.build()
  _force_counter(model.groups.decoder, 1.0)
  out = generate.generate_pose(model, helpers.make_batch(), max_len=MAX_LEN)
  np.testing.assert_array_equal(out["lengths"], [1, 1, 1])
  assert np.all(np.asarray(out["pose"][:, 1:]) == 0.0)
  np.testing.assert_allclose(out["pose"][:, 0, -1], 1.0)


class _CounterByLength(nnx.Module):
  """A fake encoder-decoder: counter (t+1)/n_b, n_b = source length."""

  frame_dim = helpers.F

  def __init__(self):
    self.decoder = self
    self.w = nnx.Param(jnp.ones(()))

  def encode(self, tokens_BxL, mask_BxL, lang_B=None):
    return mask_BxL.sum(1).astype(jnp.float32)[:, None, None] * self.w[...]

  def init_cache(self, b, max_len, enc):
    return {"k": jnp.zeros((b, max_len))}

  def decode(self, frames_in, enc, mask, lang_B=None, *, train, cache=None,
             cache_index=None):
    t_in = frames_in.shape[1]
    t0 = 0 if cache is None else cache_index
    pos_1xT = (t0 + jnp.arange(t_in))[None].astype(jnp.float32)
    counter_BxT = (pos_1xT + 1) / enc[:, :, 0]
    joints = jnp.broadcast_to((pos_1xT + 1)[..., None],
                              counter_BxT.shape + (helpers.F - 1,))
    return jnp.concatenate([joints, counter_BxT[..., None]], -1), cache


class _FakeModel(nnx.Module):

  def __init__(self):
    self.encdec = _CounterByLength()

  def pose_branch(self, batch):
    return self.encdec, batch["text"], batch["text_mask"], None


@pytest.mark.parametrize("use_cache", [True, False])
def test_per_sequence_counter_stop(use_cache):
  batch = helpers.make_batch(l=6)  # text lengths 6, 4, 1
  out = generate.generate_pose(_FakeModel(), batch, max_len=MAX_LEN,
                               use_cache=use_cache)
  np.testing.assert_array_equal(out["lengths"], [6, 4, 1])
  frames = np.asarray(out["pose"])
  for i, n in enumerate([6, 4, 1]):
    np.testing.assert_allclose(frames[i, :n, -1], np.arange(1, n + 1) / n)
    np.testing.assert_allclose(frames[i, :n, 0], np.arange(1, n + 1))
    assert np.all(frames[i, n:] == 0.0)
  # A threshold above every counter runs to max_len.
  never = generate.generate_pose(_FakeModel(), batch, max_len=MAX_LEN,
                                 stop_threshold=100.0, use_cache=use_cache)
  np.testing.assert_array_equal(never["lengths"], [MAX_LEN] * 3)


def test_oracle_timing_uses_ground_truth_counter_and_length(model, batch):
  out = generate.generate_pose(model, batch, max_len=MAX_LEN,
                               length_mode="oracle")
  assert out["timing"] == "oracle"
  want_len = np.minimum(np.asarray(batch["length"]), MAX_LEN)
  np.testing.assert_array_equal(out["lengths"], want_len)
  frames = np.asarray(out["pose"])
  gt = np.asarray(batch["pose"])
  for i, n in enumerate(want_len):
    np.testing.assert_allclose(frames[i, :n, -1], gt[i, :n, -1])
    assert np.all(frames[i, n:] == 0.0)
  # The fed-back frames carry the true counter: teacher forcing on them
  # reproduces the joints.
  tf = helpers.forward(model, dict(batch, pose=out["pose"]))["pose"]
  for i, n in enumerate(want_len):
    np.testing.assert_allclose(tf[i, :n, :-1], frames[i, :n, :-1],
                               atol=1e-5)
  with pytest.raises(ValueError, match="oracle"):
    generate.generate_pose(model, {"text": batch["text"]}, max_len=4,
                           length_mode="oracle")


def test_start_frame_is_zero_with_counter_zero():
  start = pose_decoder.start_frames(2)
  assert start.shape == (2, 1, helpers.F) and not np.any(start)


def _length_model(log_len):
  model = helpers.build(length_head=True)
  head = model.groups.length_head
  head.kernel[...] = jnp.zeros_like(head.kernel[...])
  head.bias[...] = jnp.full_like(head.bias[...],
                                 log_len - signllm.LOG_LENGTH_OFFSET)
  _force_counter(model.groups.decoder, -5.0)  # the counter must not matter
  return model


def test_length_mode_runs_the_predicted_length_like_oracle_timing(batch):
  model = _length_model(np.log(5.0))
  out = generate.generate_pose(model, batch, max_len=MAX_LEN,
                               length_mode="length")
  assert out["timing"] == "predicted length"
  np.testing.assert_array_equal(out["lengths"], [5, 5, 5])
  # Same frames as oracle timing with a ground truth of that length: the
  # imposed counter schedule (i+1)/5 is fed back exactly as in training.
  t = np.arange(MAX_LEN)
  counter = np.where(t < 5, (t + 1) / 5.0, 0.0).astype(np.float32)
  pose = np.zeros((3, MAX_LEN, helpers.F), np.float32)
  pose[..., -1] = counter
  oracle = generate.generate_pose(
      model, dict(batch, pose=jnp.asarray(pose),
                  length=jnp.full((3,), 5, jnp.int32)),
      max_len=MAX_LEN, length_mode="oracle")
  np.testing.assert_allclose(out["pose"], oracle["pose"], atol=1e-6)
  np.testing.assert_allclose(np.asarray(out["pose"])[0, :, -1], counter,
                             atol=1e-6)


def test_length_mode_clips_to_max_len_and_needs_a_head(model, batch):
  long = generate.generate_pose(_length_model(np.log(1000.0)), batch,
                                max_len=MAX_LEN, length_mode="length")
  np.testing.assert_array_equal(long["lengths"], [MAX_LEN] * 3)
  with pytest.raises(ValueError, match="length head"):
    generate.generate_pose(model, batch, max_len=MAX_LEN,
                           length_mode="length")
