"""Token pose decoder (model.pose_decoder = "tokens"): text -> pose tokens.

Instead of regressing 151-d frames, the decoder predicts the multi-stream
FSQ tokens of a trained pose tokenizer (model/pose_tokenizer.py): one token
per `downsample` frames in each of the three streams (body, left hand, right
hand). Regression under an MSE loss averages the signs a text admits into a
blurred mean; a softmax over codes picks one of them (the field's measured
ordering: discrete multi-stream tokens > regression and diffusion, FIELD.md).

Step n's input is the sum of the three streams' embeddings of tokens n-1
(BOS at n = 0), plus the sinusoidal position (and the shared model's
language vector); one softmax head per stream predicts token n of that
stream. Each stream's vocabulary is the codebook's K codes, END (= K) and
BOS (= K + 1, input only). Timing: the target at position ceil(T / ds) is
END in every stream; generation stops when the body stream emits END
(generate/token_decode.py).

The tokenizer rides inside the model as `layers.FrozenParam`s: gradients and the
optimizer take nnx.Param only, so it is never trained here, and it is saved
in every checkpoint, which makes a token workdir self-contained (train.py
installs the trained tokenizer's weights before the first step).
"""

import math

import jax
import jax.numpy as jnp
from flax import nnx

from signllm_jax.model import layers
from signllm_jax.model import pose_tokenizer as tok_lib

STREAMS = 3  # body, left hand, right hand (pose_tokenizer.PART_NAMES)


def end_id(codebook_size: int) -> int:
  return codebook_size


def bos_id(codebook_size: int) -> int:
  return codebook_size + 1


def token_count(length_B, downsample: int):
  """Tokens that cover `length_B` frames: ceil(T / ds)."""
  return (length_B.astype(jnp.int32) + downsample - 1) // downsample


def teacher_forcing(indices_BxNxS, length_B, *, downsample: int,
                    codebook_size: int):
  """Decoder inputs, targets and target mask for a batch of token rows.

  Args:
    indices_BxNxS: the tokenizer's codes of the (padded) clips, N = T / ds.
    length_B: real frames per clip.

  Returns:
    (inputs [B, N+1, S] = BOS then the codes; targets [B, N+1, S] = the
    codes up to ceil(T / ds), END there, END after; mask [B, N+1], True on
    the real tokens and the END).
  """
  b, n, s = indices_BxNxS.shape
  n_len_B = jnp.minimum(token_count(length_B, downsample), n)
  pos_1xN1 = jnp.arange(n + 1)[None]
  end = end_id(codebook_size)
  padded = jnp.pad(indices_BxNxS, ((0, 0), (0, 1), (0, 0)),
                   constant_values=end)
  targets = jnp.where((pos_1xN1 < n_len_B[:, None])[..., None], padded, end)
  inputs = jnp.concatenate(
      [jnp.full((b, 1, s), bos_id(codebook_size), indices_BxNxS.dtype),
       indices_BxNxS], axis=1)
  mask = pos_1xN1 <= n_len_B[:, None]
  return inputs.astype(jnp.int32), targets.astype(jnp.int32), mask


class PoseTokenDecoder(nnx.Module):
  """Summed stream embeddings + causal decoder + one head per stream."""

  def __init__(self, *, d_model: int, num_heads: int, d_ff: int,
               num_layers: int, dropout_rate: float, codebook_size: int,
               num_streams: int = STREAMS, compute_dtype: str = "float32",
               rngs: nnx.Rngs):
    self.codebook_size = int(codebook_size)
    self.num_streams = int(num_streams)
    self.in_vocab = self.codebook_size + 2  # codes, END, BOS
    self.out_vocab = self.codebook_size + 1  # codes, END
    self.d_model = d_model
    self.dropout_rate = dropout_rate
    self.compute_dtype = compute_dtype
    # One table for all streams, stream s's rows at s * in_vocab: a single
    # gather per step. Scaled so the sum of S embeddings has unit variance
    # like the positions it is added to.
    self.embed = layers.param(
        rngs, nnx.initializers.normal(1.0 / math.sqrt(num_streams)),
        (num_streams * self.in_vocab, d_model), ("vocab", "embed"))
    self.layers = nnx.List([
        layers.DecoderLayer(d_model, num_heads, d_ff,
                            dropout_rate=dropout_rate, rngs=rngs)
        for _ in range(num_layers)])
    self.final_ln = layers.LayerNorm(d_model)
    # The S heads as one [D, S * V] product (same maths, one GEMM).
    self.heads = layers.Dense(d_model, num_streams * self.out_vocab,
                              ("embed", "vocab"), rngs=rngs)

  @property
  def end_id(self) -> int:
    return end_id(self.codebook_size)

  @property
  def bos_id(self) -> int:
    return bos_id(self.codebook_size)

  def init_cache(self, batch_size: int, max_len: int, enc_BxLxD):
    dtype = layers.dtype_of(self.compute_dtype)
    return [layer.init_cache(batch_size, max_len, enc_BxLxD, dtype)
            for layer in self.layers]

  def __call__(self, tokens_BxNxS, enc_BxLxD, enc_mask_BxL, *, train: bool,
               cache=None, cache_index=None, extra_BxD=None, key=None):
    """Logits for every input position.

    Args:
      tokens_BxNxS: decoder inputs (`teacher_forcing`'s inputs, or the last
        generated tokens when decoding with a cache).
      enc_BxLxD / enc_mask_BxL: the source encoding and its mask.
      cache / cache_index: as PoseDecoder's (incremental decoding).
      extra_BxD: optional vector added to every input (language).

    Returns:
      (logits_BxNxSxV float32 with V = K + 1, new cache or None).
    """
    dtype = layers.dtype_of(self.compute_dtype)
    key = key if train else None
    b, n, s = tokens_BxNxS.shape
    if s != self.num_streams:
      raise ValueError(f"token decoder: {s} streams, expected "
                       f"{self.num_streams}")
    offset = 0 if cache is None else cache_index
    rows_BxNxS = tokens_BxNxS + self.in_vocab * jnp.arange(s)
    h_BxNxD = jnp.take(self.embed[...], rows_BxNxS, axis=0).sum(2)
    h_BxNxD = (h_BxNxD + layers.sinusoid(offset + jnp.arange(n),
                                         self.d_model)).astype(dtype)
    if extra_BxD is not None:
      h_BxNxD = h_BxNxD + extra_BxD[:, None].astype(dtype)
    h_BxNxD = layers.dropout(h_BxNxD, self.dropout_rate, layers.fold(key, 0))
    h_BxNxD, new_cache = layers.decoder_stack(
        self.layers, h_BxNxD, enc_BxLxD, enc_mask_BxL, cache=cache,
        cache_index=cache_index, key=key, first_key=1, dtype=dtype)
    logits = self.heads(self.final_ln(h_BxNxD), dtype)
    return (logits.astype(jnp.float32).reshape(b, n, s, self.out_vocab),
            new_cache)


def tokens_to_frames(tokenizer, tokens_BxNxS, n_len_B, *, max_len: int,
                     frame_len_B=None):
  """Generated tokens -> normalised 151-d frames [B, max_len, 151].

  Positions at or after each row's n_len are decoded from code 0 and then
  cut: frames after a row's length are zero, as the continuous decoder's.
  The counter channel is the schedule (i+1)/T of the row's length T
  (frame_len_B when given, else n_len * ds).
  """
  ds = tokenizer.downsample
  b, n, s = tokens_BxNxS.shape
  real_BxN = jnp.arange(n)[None] < n_len_B[:, None]
  safe = jnp.where(real_BxN[..., None], tokens_BxNxS, 0)
  safe = jnp.minimum(safe, tokenizer.codebook_size - 1)
  coords_BxTxC = tokenizer.detokenize(
      {name: safe[..., i] for i, name in enumerate(tok_lib.PART_NAMES)})
  t = coords_BxTxC.shape[1]
  if t < max_len:
    coords_BxTxC = jnp.pad(coords_BxTxC, ((0, 0), (0, max_len - t), (0, 0)))
  coords_BxTxC = coords_BxTxC[:, :max_len]
  length_B = n_len_B * ds if frame_len_B is None else frame_len_B
  length_B = jnp.clip(length_B, 0, max_len).astype(jnp.int32)
  t_1xT = jnp.arange(1, max_len + 1, dtype=jnp.float32)[None]
  real_BxT = t_1xT <= length_B[:, None]
  counter_BxT = jnp.where(real_BxT, t_1xT / jnp.maximum(length_B, 1)[:, None],
                          0.0)
  frames = jnp.concatenate([coords_BxTxC, counter_BxT[..., None]], -1)
  return jnp.where(real_BxT[..., None], frames, 0.0), length_B
