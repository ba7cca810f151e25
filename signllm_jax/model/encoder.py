"""Transformer token encoder (text, prompt or LangGloss tokens)."""

import jax.numpy as jnp
from flax import nnx

from signllm_jax.model import layers


class TokenEmbed(nnx.Module):
  """Token embedding table [V, D] plus on-the-fly sinusoidal positions."""

  def __init__(self, vocab_size: int, d_model: int, *, rngs: nnx.Rngs):
    self.table = layers.param(rngs, nnx.initializers.normal(1.0),
                              (vocab_size, d_model), ("vocab", "embed"))
    self.d_model = d_model

  def __call__(self, tokens_BxL, *, offset=0, dtype=jnp.float32):
    x_BxLxD = jnp.take(self.table[...], tokens_BxL, axis=0)
    pos_L = offset + jnp.arange(tokens_BxL.shape[1])
    return (x_BxLxD + layers.sinusoid(pos_L, self.d_model)).astype(dtype)


class Encoder(nnx.Module):
  """Token embedding + positions + N pre-LN layers + final LayerNorm."""

  def __init__(self, *, vocab_size: int, d_model: int, num_heads: int,
               d_ff: int, num_layers: int, dropout_rate: float,
               compute_dtype: str = "float32", rngs: nnx.Rngs):
    self.embed = TokenEmbed(vocab_size, d_model, rngs=rngs)
    self.layers = nnx.List([
        layers.EncoderLayer(d_model, num_heads, d_ff,
                            dropout_rate=dropout_rate, rngs=rngs)
        for _ in range(num_layers)])
    self.final_ln = layers.LayerNorm(d_model)
    self.dropout_rate = dropout_rate
    self.compute_dtype = compute_dtype

  def __call__(self, tokens_BxL, mask_BxL, *, extra_BxD=None, key=None):
    """Encodes tokens; padded positions are never attended to.

    Args:
      tokens_BxL: int32 token ids.
      mask_BxL: bool, True on real tokens.
      extra_BxD: optional vector added to every input position (the shared
        model's language embedding).
      key: dropout key or None (no dropout).

    Returns:
      enc_BxLxD in the compute dtype.
    """
    dtype = layers.dtype_of(self.compute_dtype)
    x_BxLxD = self.embed(tokens_BxL, dtype=dtype)
    if extra_BxD is not None:
      x_BxLxD = x_BxLxD + extra_BxD[:, None].astype(dtype)
    x_BxLxD = layers.dropout(x_BxLxD, self.dropout_rate, layers.fold(key, 0))
    mask_BxLxL = mask_BxL[:, None, :]
    for i, layer in enumerate(self.layers):
      x_BxLxD = layer(x_BxLxD, mask_BxLxL, key=layers.fold(key, i + 1),
                      dtype=dtype)
    return self.final_ln(x_BxLxD)
