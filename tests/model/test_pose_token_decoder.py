"""The token pose decoder: targets, cached decoding, sampling, training,
detokenized frames, and the frozen tokenizer inside the model."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from signllm_jax import losses
from signllm_jax.generate import pose_decode
from signllm_jax.model import layers
from signllm_jax.model import pose_token_decoder as ptd
from signllm_jax.model import pose_tokenizer as tok_lib
from tests.model import helpers

K = 1000  # codebook of the default FSQ levels 8-5-5-5
TOKENS = dict(pose_decoder="tokens", tokenizer_channels=8)


@pytest.fixture(scope="module", params=[
    dict(shared_multilingual=False), dict(shared_multilingual=True),
    dict(mode="p2lg", p2lg_stage="joint")],
    ids=["mlsf_groups", "shared", "p2lg_stage2"])
def model(request):
  return helpers.build(**request.param, **TOKENS)


def test_teacher_forcing_targets_on_a_hand_made_case():
  idx = jnp.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]],
                   [[9, 9, 9], [8, 8, 8], [0, 0, 0]]], jnp.int32)
  # 9 frames at 4 per token -> 3 tokens; 5 frames -> 2 tokens.
  inputs, targets, mask = ptd.teacher_forcing(
      idx, jnp.array([9, 5]), downsample=4, codebook_size=K)
  bos, end = K + 1, K
  np.testing.assert_array_equal(inputs[0], [[bos] * 3, [1, 2, 3], [4, 5, 6],
                                            [7, 8, 9]])
  np.testing.assert_array_equal(targets[0], [[1, 2, 3], [4, 5, 6],
                                             [7, 8, 9], [end] * 3])
  np.testing.assert_array_equal(targets[1], [[9, 9, 9], [8, 8, 8],
                                             [end] * 3, [end] * 3])
  np.testing.assert_array_equal(mask, [[1, 1, 1, 1], [1, 1, 1, 0]])


def test_unknown_pose_decoder_is_refused():
  with pytest.raises(ValueError, match="pose_decoder must be one of"):
    helpers.build(pose_decoder="diffusion")


def test_tokenizer_is_frozen_params_and_gets_no_gradient(model):
  frozen = nnx.state(model.pose_tokenizer, layers.FrozenParam)
  assert jax.tree.leaves(frozen), "the tokenizer holds FrozenParams"
  assert not jax.tree.leaves(nnx.state(model.pose_tokenizer, nnx.Param))
  batch = helpers.make_batch(t=12)
  cfg = helpers.smoke_cfg(**TOKENS)
  grads = nnx.grad(lambda m: losses.total_loss(
      m(batch, train=True), batch, cfg)[0])(model)
  assert "pose_tokenizer" not in grads
  assert float(optax.tree.norm(grads)) > 0


def test_cached_step_by_step_logits_equal_the_full_forward_pass(model):
  batch = helpers.make_batch(t=12)
  encdec, src, mask, lang = model.pose_branch(batch)
  enc = encdec.encode(src, mask, lang)
  rng = np.random.default_rng(0)
  tokens = jnp.asarray(rng.integers(0, K, (3, 5, 3)), jnp.int32)
  full, _ = encdec.decode(tokens, enc, mask, lang, train=False)
  cache = encdec.decoder.init_cache(3, 5, enc)
  steps = []
  for t in range(5):
    out, cache = encdec.decode(tokens[:, t:t + 1], enc, mask, lang,
                               train=False, cache=cache,
                               cache_index=jnp.int32(t))
    steps.append(out)
  np.testing.assert_allclose(jnp.concatenate(steps, 1), full, rtol=2e-5,
                             atol=2e-5)


def test_greedy_generation_is_the_argmax_of_teacher_forcing(model):
  """The while_loop's tokens, fed back teacher-forced, are each step's
  arg-max (END masked as the loop masks it)."""
  batch = helpers.make_batch(t=12)
  out = pose_decode.generate_pose(model, batch, max_len=24,
                                  length_mode="oracle")
  tokens, n_B = out["tokens"], np.asarray(out["token_lengths"])
  np.testing.assert_array_equal(n_B, [3, 2, 1])  # ceil([12, 8, 2] / 4)
  encdec, src, mask, lang = model.pose_branch(batch)
  enc = encdec.encode(src, mask, lang)
  inputs = jnp.concatenate(
      [jnp.full((3, 1, 3), K + 1, jnp.int32), tokens[:, :-1]], 1)
  logits, _ = encdec.decode(inputs, enc, mask, lang, train=False)
  want = np.asarray(jnp.argmax(logits[..., :K], -1))
  for b, n in enumerate(n_B):
    np.testing.assert_array_equal(np.asarray(tokens)[b, :n], want[b, :n])


def test_low_temperature_and_top1_sampling_equal_greedy(model):
  batch = helpers.make_batch(t=12)
  greedy = pose_decode.generate_pose(model, batch, max_len=24)
  cold = pose_decode.generate_pose(model, batch, max_len=24,
                                   temperature=1e-4, seed=3)
  top1 = pose_decode.generate_pose(model, batch, max_len=24,
                                   temperature=1.0, top_k=1, seed=5)
  hot = pose_decode.generate_pose(model, batch, max_len=24,
                                  temperature=2.0, seed=5)
  for other in (cold, top1):
    np.testing.assert_array_equal(other["tokens"], greedy["tokens"])
    np.testing.assert_array_equal(other["lengths"], greedy["lengths"])
  assert not np.array_equal(hot["tokens"], greedy["tokens"])
  again = pose_decode.generate_pose(model, batch, max_len=24,
                                    temperature=2.0, seed=5)
  np.testing.assert_array_equal(again["tokens"], hot["tokens"])


def test_sampling_is_refused_for_the_continuous_decoder():
  m = helpers.build()
  with pytest.raises(ValueError, match="token decoder"):
    pose_decode.generate_pose(m, helpers.make_batch(), max_len=8,
                              temperature=1.0)


def test_detokenized_frames_have_the_pose_layout(model):
  """[B, max_len, 151]: the tokenizer's decoding of the codes on real
  frames, the counter schedule (i+1)/T, zeros after each length."""
  batch = helpers.make_batch(t=12)
  out = pose_decode.generate_pose(model, batch, max_len=24,
                                  length_mode="oracle")
  frames, lengths = np.asarray(out["pose"]), np.asarray(out["lengths"])
  assert frames.shape == (3, 24, helpers.F)
  np.testing.assert_array_equal(lengths, [12, 8, 2])  # the oracle's
  coords = np.asarray(model.pose_tokenizer.detokenize(
      {name: out["tokens"][..., i]
       for i, name in enumerate(tok_lib.PART_NAMES)}))
  for b, t in enumerate(lengths):
    np.testing.assert_allclose(frames[b, :t, :-1], coords[b, :t], atol=1e-5)
    np.testing.assert_allclose(frames[b, :t, -1], np.arange(1, t + 1) / t,
                               rtol=1e-6)
    assert not frames[b, t:].any()
  own = pose_decode.generate_pose(model, batch, max_len=24)
  assert own["timing"] == "predicted"
  n = np.asarray(own["token_lengths"])
  np.testing.assert_array_equal(np.asarray(own["lengths"]), 4 * n)
  assert (n >= 1).all() and (n <= 6).all()


def test_a_few_training_steps_reduce_the_token_loss():
  model = helpers.build(shared_multilingual=True, **TOKENS)
  cfg = helpers.smoke_cfg(shared_multilingual=True, **TOKENS)
  batch = helpers.make_batch(t=12)
  opt = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)
  frozen_before = jax.tree.map(np.asarray, nnx.to_pure_dict(
      nnx.state(model.pose_tokenizer)))

  @nnx.jit
  def step(model, opt):
    def loss_fn(m):
      return losses.total_loss(m(batch, train=True), batch, cfg)
    (loss, aux), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    opt.update(model, grads)
    return loss, aux

  first, _ = step(model, opt)
  for _ in range(25):
    last, aux = step(model, opt)
  assert float(last) < 0.5 * float(first), (float(first), float(last))
  assert float(aux["token_accuracy"]) > 0.5
  jax.tree.map(np.testing.assert_array_equal, frozen_before,
               nnx.to_pure_dict(nnx.state(model.pose_tokenizer)))
