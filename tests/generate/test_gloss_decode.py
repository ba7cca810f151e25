"""LangGloss decoding (greedy, beam) and the prompt -> gloss -> pose chain."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from signllm_jax import generate
from signllm_jax.generate import pose_decode
from tests.model import helpers

MAX_LEN = 7


@pytest.fixture(scope="module")
def model():
  return helpers.build(mode="p2lg")


@pytest.fixture(scope="module")
def batch():
  return helpers.make_batch()


@pytest.fixture(scope="module")
def greedy(model, batch):
  return generate.greedy_decode(model, batch, max_len=MAX_LEN)


def _teacher_forced_logp(model, batch, tokens):
  """log p(tokens[1:] | prompt) per row, counting tokens up to EOS."""
  logits = helpers.forward(model, dict(batch, lang_gloss=tokens))[
      "gloss_logits"]
  logits = logits.at[..., :2].set(-jnp.inf)  # PAD and BOS are never decoded
  logp = jax.nn.log_softmax(logits[:, :-1])
  tok = np.asarray(tokens[:, 1:])
  picked = np.take_along_axis(np.asarray(logp), tok[..., None], -1)[..., 0]
  return np.where(tok != 0, picked, 0.0).sum(1), np.asarray(logits)


def test_greedy_is_argmax_of_teacher_forcing(model, batch, greedy):
  tokens = np.asarray(greedy["tokens"])
  assert tokens.shape == (3, MAX_LEN) and np.all(tokens[:, 0] == 1)
  _, logits = _teacher_forced_logp(model, batch, greedy["tokens"])
  for i in range(3):
    n = int(greedy["lengths"][i])
    np.testing.assert_array_equal(tokens[i, 1:n],
                                  logits[i, :n - 1].argmax(-1))
    assert np.all(tokens[i, n:] == 0)
    assert n == MAX_LEN or tokens[i, n - 1] == 2


def test_beam_one_equals_greedy(model, batch, greedy):
  beam = generate.beam_search(model, batch, max_len=MAX_LEN, beam_size=1)
  np.testing.assert_array_equal(beam["tokens"], greedy["tokens"])
  np.testing.assert_array_equal(beam["lengths"], greedy["lengths"])


def test_beam_scores_are_the_sequence_log_probs(model, batch):
  beam = generate.beam_search(model, batch, max_len=MAX_LEN, beam_size=3)
  logp, _ = _teacher_forced_logp(model, batch, beam["tokens"])
  np.testing.assert_allclose(beam["scores"], logp, atol=1e-4)
  assert np.isfinite(np.asarray(beam["scores"])).all()


def test_forced_eos_stops_immediately(batch):
  model = helpers.build(mode="p2lg", seed=1)
  logits_layer = model.gloss.decoder.logits
  logits_layer.bias[...] = logits_layer.bias[...].at[2].set(100.0)
  for out in (generate.greedy_decode(model, batch, max_len=MAX_LEN),
              generate.beam_search(model, batch, max_len=MAX_LEN,
                                   beam_size=2)):
    np.testing.assert_array_equal(out["lengths"], [2, 2, 2])
    np.testing.assert_array_equal(out["tokens"][:, :2], [[1, 2]] * 3)


def test_prompt_to_gloss_to_pose_chain(model, batch, greedy):
  gloss = greedy["tokens"]
  pose_batch = dict(batch, lang_gloss=gloss, lang_gloss_mask=gloss != 0)
  out = generate.generate_pose(model, pose_batch, max_len=5)
  assert out["pose"].shape == (3, 5, helpers.F)
  assert np.isfinite(np.asarray(out["pose"])).all()


def test_shared_multilingual_generation_runs():
  model = helpers.build(shared_multilingual=True)
  batch = dict(helpers.make_batch(), lang=jnp.array([0, 1, 2], jnp.int32))
  out = generate.generate_pose(model, batch, max_len=5)
  assert out["pose"].shape == (3, 5, helpers.F)
  # Each row stops at its first frame whose counter reaches the threshold
  # (else at max_len), and nothing is written after its end.
  pose, lengths = np.asarray(out["pose"]), np.asarray(out["lengths"])
  threshold = pose_decode.default_threshold(5)
  for row in range(3):
    hits = np.flatnonzero(pose[row, :, -1] >= threshold)
    want = hits[0] + 1 if hits.size else 5
    assert lengths[row] == want, (row, pose[row, :, -1], lengths)
    assert not pose[row, want:].any()


def _tag_biased(model, bias_by_id):
  """A copy of the P2LG model whose stage-1 logits favour some tokens."""
  from flax import nnx
  biased = nnx.clone(model)
  b = biased.gloss.decoder.logits.bias
  for token, value in bias_by_id.items():
    b[...] = b[...].at[token].add(value)
  return biased


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_a_given_language_is_the_only_tag_decoded(model, batch, decoder):
  """Tags 10..12 stand for three languages; the model prefers tag 10, then
  11. Free rows emit 10; a row given 11 or 12 emits it where it emitted 10
  (the tags' probability moves to the given one) and never another tag; a
  row given -1 decodes as if nothing were given."""
  tags = np.array([10, 11, 12], np.int32)
  biased = _tag_biased(model, {10: 100.0, 11: 50.0})
  run = (generate.greedy_decode if decoder == "greedy" else
         lambda *a, **k: generate.beam_search(*a, beam_size=3, **k))
  free = np.asarray(run(biased, batch, max_len=MAX_LEN)["tokens"])
  assert np.all(free[:, 1:] == 10)
  given = np.asarray(run(biased, batch, max_len=MAX_LEN,
                         forced_tag_B=np.array([11, -1, 12], np.int32),
                         tag_ids=tags)["tokens"])
  assert np.all(given[0, 1:] == 11)
  np.testing.assert_array_equal(given[1], free[1])
  assert np.all(given[2, 1:] == 12)
  with pytest.raises(ValueError, match="tag_ids"):
    run(biased, batch, max_len=MAX_LEN, forced_tag_B=np.array([11, -1, 12]))
