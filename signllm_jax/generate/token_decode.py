"""Autoregressive generation for the token pose decoder (model.pose_decoder
= "tokens"): one `lax.while_loop` over token steps with preallocated KV
caches, then the frozen tokenizer detokenizes the codes to frames.

Each step feeds the previous step's three codes (BOS first), reads the three
heads' logits and picks one code per stream: arg-max when temperature is 0,
else a sample at that temperature from the top_k most likely codes (0 = all).
Every (temperature, top_k) is its own compiled program; the key comes from
`seed` and the step, so a call is deterministic.

Timing (`length_mode`, as generate/pose_decode.py):
  "counter"  the model's own: a row stops when the body stream picks END
             (never at the first step); output = its tokens * downsample
             frames. Rows that never stop get max_len // downsample tokens.
  "length"   the length head's frame count T: ceil(T / ds) tokens with END
             masked, frames cut to T.
  "oracle"   the ground truth's batch["length"] likewise.
END is only the body head's to choose: the hands' END logits are masked, so
every kept step decodes to real codes in all three streams.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from signllm_jax.model import pose_token_decoder

_NEG = -1e30


class _Carry(NamedTuple):
  t: jax.Array
  prev_BxS: jax.Array
  cache: Any
  tokens_BxNxS: jax.Array
  done_B: jax.Array
  len_B: jax.Array  # tokens per row


def pick(logits_BxSxV, key, *, temperature: float, top_k: int):
  """One code per row and stream: arg-max, or a tempered top-k sample."""
  if temperature <= 0.0:
    return jnp.argmax(logits_BxSxV, -1).astype(jnp.int32)
  scaled = logits_BxSxV / temperature
  if top_k and top_k < scaled.shape[-1]:
    kth = jax.lax.top_k(scaled, top_k)[0][..., -1:]
    scaled = jnp.where(scaled < kth, _NEG, scaled)
  return jax.random.categorical(key, scaled, axis=-1).astype(jnp.int32)


def generate(graphdef, state, batch, *, max_len: int, mode: str,
             temperature: float, top_k: int, seed: int):
  """(frames [B, max_len, 151], frame lengths [B], tokens [B, N, 3],
  token lengths [B]); the module docstring has the rules."""
  return _generate(graphdef, state, batch, max_len=max_len, mode=mode,
                   temperature=float(temperature), top_k=int(top_k),
                   seed=int(seed))


@functools.partial(jax.jit, static_argnames=(
    "graphdef", "max_len", "mode", "temperature", "top_k", "seed"))
def _generate(graphdef, state, batch, *, max_len, mode, temperature, top_k,
              seed):
  model = nnx.merge(graphdef, state)
  tokenizer = model.pose_tokenizer
  ds = tokenizer.downsample
  n_max = max(max_len // ds, 1)
  encdec, src_BxL, mask_BxL, lang_B = model.pose_branch(batch)
  enc_BxLxD = encdec.encode(src_BxL, mask_BxL, lang_B)
  dec = encdec.decoder
  b, s, end = src_BxL.shape[0], dec.num_streams, dec.end_id
  fixed = mode != "counter"
  frame_len_B = None
  if mode == "oracle":
    frame_len_B = jnp.clip(batch["length"].astype(jnp.int32), 1, max_len)
  elif mode == "length":
    log_len_B = encdec.predict_log_length(enc_BxLxD, mask_BxL)
    frame_len_B = jnp.clip(jnp.round(jnp.exp(log_len_B)), 1,
                           max_len).astype(jnp.int32)
  target_B = (None if frame_len_B is None else jnp.minimum(
      pose_token_decoder.token_count(frame_len_B, ds), n_max))
  # END is the body stream's alone (column 0); hands never pick it.
  hands_end_1xSxV = jnp.zeros((1, s, dec.out_vocab)).at[0, 1:, end].set(_NEG)
  key0 = jax.random.key(seed)

  def body(c: _Carry) -> _Carry:
    logits, cache = encdec.decode(c.prev_BxS[:, None], enc_BxLxD, mask_BxL,
                                  lang_B, train=False, cache=c.cache,
                                  cache_index=c.t)
    logits_BxSxV = logits[:, 0] + hands_end_1xSxV
    if fixed:
      no_end = jnp.ones((b, 1), bool)
    else:
      no_end = jnp.broadcast_to(c.t == 0, (b, 1))
    logits_BxSxV = logits_BxSxV.at[:, 0, end].set(
        jnp.where(no_end[:, 0], _NEG, logits_BxSxV[:, 0, end]))
    tok_BxS = pick(logits_BxSxV, jax.random.fold_in(key0, c.t),
                   temperature=temperature, top_k=top_k)
    if fixed:
      stop_B = c.t + 1 >= target_B
      write_B = ~c.done_B
      new_len_B = jnp.where(write_B & stop_B, c.t + 1, c.len_B)
    else:
      stop_B = tok_BxS[:, 0] == end
      write_B = ~c.done_B & ~stop_B
      new_len_B = jnp.where(~c.done_B & stop_B, c.t, c.len_B)
    tokens = jax.lax.dynamic_update_slice(
        c.tokens_BxNxS, jnp.where(write_B[:, None], tok_BxS, 0)[:, None],
        (0, c.t, 0))
    return _Carry(t=c.t + 1, prev_BxS=tok_BxS, cache=cache,
                  tokens_BxNxS=tokens, done_B=c.done_B | stop_B,
                  len_B=new_len_B)

  def cond(c: _Carry):
    return (c.t < n_max) & ~c.done_B.all()

  out = jax.lax.while_loop(cond, body, _Carry(
      t=jnp.int32(0),
      prev_BxS=jnp.full((b, s), dec.bos_id, jnp.int32),
      cache=dec.init_cache(b, n_max, enc_BxLxD),
      tokens_BxNxS=jnp.zeros((b, n_max, s), jnp.int32),
      done_B=jnp.zeros((b,), bool),
      len_B=jnp.full((b,), n_max, jnp.int32)))
  frames, lengths = pose_token_decoder.tokens_to_frames(
      tokenizer, out.tokens_BxNxS, out.len_B, max_len=max_len,
      frame_len_B=frame_len_B)
  return frames, lengths, out.tokens_BxNxS, out.len_B
