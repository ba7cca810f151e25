"""Prompt2LangGloss stage 1 decoding: greedy and beam search.

Each is one compiled program (`lax.while_loop` + key/value caches). Output
rows follow the lang_gloss convention: BOS w1 ... EOS then 0 padding, so
they can be fed to stage 2 as batch["lang_gloss"] directly; lengths count
BOS and EOS. A sequence that never emits EOS is cut at max_len. PAD (0) and
BOS are never generated. Beam scores are log-probabilities under the model
renormalised without PAD and BOS.

A row may be given its sign language (`forced_tag_B`, the tag's token id;
-1 = free): the probability of every language's tag (`tag_ids`) is moved
onto that one, so each tag it emits is that one, where it would have
emitted any. A German prompt is the same text
for GSL and DSGS: without a given or named language the tag is a guess.

Beam search keeps finished hypotheses in the beam: a finished beam can only
extend with padding at log-probability 0, so its score is frozen and it
competes with live beams on the summed log-probability. The optional GNMT
length penalty ((5 + len) / 6) ** alpha only re-ranks the final beams
(alpha = 0, the default, is exact max-sum search within the beam).
"""

import functools

import jax
import jax.numpy as jnp
from flax import nnx

_PAD = 0


def _tags(batch, forced_tag_B, tag_ids):
  b = batch["prompt"].shape[0]
  if forced_tag_B is None:
    return jnp.full((b,), -1, jnp.int32), jnp.full((1,), -1, jnp.int32)
  if tag_ids is None:
    raise ValueError("forced_tag_B needs tag_ids (every language's tag id)")
  return (jnp.asarray(forced_tag_B, jnp.int32),
          jnp.asarray(tag_ids, jnp.int32))


def greedy_decode(model, batch, *, max_len: int, bos_id: int = 1,
                  eos_id: int = 2, forced_tag_B=None, tag_ids=None):
  """Greedy LangGloss decoding from batch["prompt"] / ["prompt_mask"].

  Returns {"tokens": int32 [B, max_len], "lengths": int32 [B]}.
  """
  graphdef, state = nnx.split(model)
  forced_B, tags_T = _tags(batch, forced_tag_B, tag_ids)
  tokens = _greedy(graphdef, state, batch["prompt"], batch["prompt_mask"],
                   forced_B, tags_T, max_len=max_len, bos_id=bos_id,
                   eos_id=eos_id)
  return {"tokens": tokens, "lengths": (tokens != _PAD).sum(1)}


def beam_search(model, batch, *, max_len: int, beam_size: int = 4,
                length_penalty: float = 0.0, bos_id: int = 1,
                eos_id: int = 2, forced_tag_B=None, tag_ids=None):
  """Beam search; returns {"tokens", "lengths", "scores" (log-prob) [B]}."""
  graphdef, state = nnx.split(model)
  forced_B, tags_T = _tags(batch, forced_tag_B, tag_ids)
  tokens, scores = _beam(graphdef, state, batch["prompt"],
                         batch["prompt_mask"], forced_B, tags_T,
                         max_len=max_len,
                         beam_size=beam_size, alpha=float(length_penalty),
                         bos_id=bos_id, eos_id=eos_id)
  return {"tokens": tokens, "lengths": (tokens != _PAD).sum(1),
          "scores": scores}


def _banned(logits_BxV, bos_id, forced_B, tags_T):
  """Padding and BOS are never generated (they would corrupt the rows). In
  a row given its language, every tag's probability goes to that language's
  tag (its logit becomes the log-sum-exp over all tags, the others -inf):
  where the model would start a sign with some tag, it starts it with the
  given one, instead of leaving out the tag."""
  v_V = jnp.arange(logits_BxV.shape[-1])
  banned_BxV = ((v_V == _PAD) | (v_V == bos_id))[None, :]
  is_tag_V = (v_V[:, None] == tags_T[None, :]).any(-1)
  given_Bx1 = (forced_B >= 0)[:, None]
  tag_mass_B = jax.nn.logsumexp(
      jnp.where(is_tag_V[None, :], logits_BxV, -jnp.inf), axis=-1)
  is_given_BxV = v_V[None, :] == forced_B[:, None]
  logits_BxV = jnp.where(given_Bx1 & is_given_BxV, tag_mass_B[:, None],
                         logits_BxV)
  other_BxV = given_Bx1 & is_tag_V[None, :] & ~is_given_BxV
  return jnp.where(banned_BxV | other_BxV, -jnp.inf, logits_BxV)


@functools.partial(jax.jit, static_argnames=(
    "graphdef", "max_len", "bos_id", "eos_id"))
def _greedy(graphdef, state, prompt_BxL, prompt_mask_BxL, forced_B, tags_T, *,
            max_len, bos_id, eos_id):
  """Arg-max decoding; finished rows are padded with 0."""
  model = nnx.merge(graphdef, state)
  stage1 = model.gloss
  b = prompt_BxL.shape[0]
  enc_BxLxD = stage1.encode(prompt_BxL, prompt_mask_BxL)
  cache = stage1.decoder.init_cache(b, max_len, enc_BxLxD)
  seqs_BxG = jnp.zeros((b, max_len), jnp.int32).at[:, 0].set(bos_id)

  def body(carry):
    t, seqs_BxG, done_B, cache = carry
    logits, cache = stage1.decoder(
        jax.lax.dynamic_slice_in_dim(seqs_BxG, t, 1, 1), enc_BxLxD,
        prompt_mask_BxL, cache=cache, cache_index=t)
    logits_BxV = _banned(logits[:, 0], bos_id, forced_B, tags_T)
    tok_B = jnp.where(done_B, _PAD, jnp.argmax(logits_BxV, -1))
    seqs_BxG = jax.lax.dynamic_update_slice(seqs_BxG, tok_B[:, None],
                                            (0, t + 1))
    return t + 1, seqs_BxG, done_B | (tok_B == eos_id), cache

  def cond(carry):
    return (carry[0] < max_len - 1) & ~carry[2].all()

  return jax.lax.while_loop(
      cond, body, (jnp.int32(0), seqs_BxG, jnp.zeros((b,), bool), cache))[1]


@functools.partial(jax.jit, static_argnames=(
    "graphdef", "max_len", "beam_size", "alpha", "bos_id", "eos_id"))
def _beam(graphdef, state, prompt_BxL, prompt_mask_BxL, forced_B, tags_T, *,
          max_len, beam_size, alpha, bos_id, eos_id):
  """Beam search over flattened [B*K] rows; K = 1 is greedy."""
  model = nnx.merge(graphdef, state)
  stage1 = model.gloss
  b, k = prompt_BxL.shape[0], beam_size
  enc_BxLxD = stage1.encode(prompt_BxL, prompt_mask_BxL)
  enc_NxLxD = jnp.repeat(enc_BxLxD, k, axis=0)
  mask_NxL = jnp.repeat(prompt_mask_BxL, k, axis=0)
  cache = stage1.decoder.init_cache(b * k, max_len, enc_NxLxD)
  seqs_BxKxG = jnp.zeros((b, k, max_len), jnp.int32).at[:, :, 0].set(bos_id)
  # Only beam 0 is live at the start, so the K copies do not repeat.
  scores_BxK = jnp.tile(jnp.where(jnp.arange(k) == 0, 0.0, -jnp.inf), (b, 1))
  done_BxK = jnp.zeros((b, k), bool)

  def body(carry):
    t, seqs_BxKxG, scores_BxK, done_BxK, cache = carry
    tok_Nx1 = seqs_BxKxG[:, :, t].reshape(b * k, 1)
    logits, cache = stage1.decoder(tok_Nx1, enc_NxLxD, mask_NxL, cache=cache,
                                   cache_index=t)
    logp_BxKxV = jax.nn.log_softmax(_banned(
        logits[:, 0], bos_id, jnp.repeat(forced_B, k), tags_T)
                                    ).reshape(b, k, -1)
    v = logp_BxKxV.shape[-1]
    pad_only_V = jnp.where(jnp.arange(v) == _PAD, 0.0, -jnp.inf)
    logp_BxKxV = jnp.where(done_BxK[..., None], pad_only_V, logp_BxKxV)
    cand_BxKV = (scores_BxK[..., None] + logp_BxKxV).reshape(b, k * v)
    scores_BxK, idx_BxK = jax.lax.top_k(cand_BxKV, k)
    beam_BxK, tok_BxK = idx_BxK // v, idx_BxK % v
    seqs_BxKxG = jnp.take_along_axis(seqs_BxKxG, beam_BxK[..., None], 1)
    seqs_BxKxG = seqs_BxKxG.at[:, :, t + 1].set(tok_BxK)
    done_BxK = (jnp.take_along_axis(done_BxK, beam_BxK, 1)
                | (tok_BxK == eos_id))
    rows_N = (jnp.arange(b)[:, None] * k + beam_BxK).reshape(-1)
    cache = jax.tree.map(lambda x: jnp.take(x, rows_N, axis=0), cache)
    return t + 1, seqs_BxKxG, scores_BxK, done_BxK, cache

  def cond(carry):
    t, done_BxK = carry[0], carry[3]
    return (t < max_len - 1) & ~done_BxK.all()

  _, seqs_BxKxG, scores_BxK, _, _ = jax.lax.while_loop(
      cond, body, (jnp.int32(0), seqs_BxKxG, scores_BxK, done_BxK, cache))
  lengths_BxK = (seqs_BxKxG != _PAD).sum(-1)
  ranked_BxK = scores_BxK / (((5.0 + lengths_BxK) / 6.0) ** alpha)
  best_B = jnp.argmax(ranked_BxK, axis=1)
  tokens_BxG = jnp.take_along_axis(seqs_BxKxG, best_B[:, None, None], 1)[:, 0]
  return tokens_BxG, jnp.take_along_axis(scores_BxK, best_B[:, None], 1)[:, 0]
