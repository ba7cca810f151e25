"""Prompt2LangGloss stage 1: causal token decoder over LangGloss tokens.

Token convention: `lang_gloss` rows are BOS w1 ... EOS then 0 padding. The
decoder reads lang_gloss[:, :G] and its logits at position g predict token
g + 1 (the last position's logits have no target); losses.total_loss shifts
the targets accordingly.
"""

import jax.numpy as jnp
from flax import nnx

from signllm_jax.model import encoder
from signllm_jax.model import layers


class TokenDecoder(nnx.Module):
  """Embedding + causal pre-LN decoder layers + vocabulary logits."""

  def __init__(self, *, vocab_size: int, d_model: int, num_heads: int,
               d_ff: int, num_layers: int, dropout_rate: float,
               compute_dtype: str = "float32", rngs: nnx.Rngs):
    self.embed = encoder.TokenEmbed(vocab_size, d_model, rngs=rngs)
    self.layers = nnx.List([
        layers.DecoderLayer(d_model, num_heads, d_ff,
                            dropout_rate=dropout_rate, rngs=rngs)
        for _ in range(num_layers)])
    self.final_ln = layers.LayerNorm(d_model)
    self.logits = layers.Dense(d_model, vocab_size, ("embed", "vocab"),
                               rngs=rngs)
    self.dropout_rate = dropout_rate
    self.compute_dtype = compute_dtype

  def init_cache(self, batch_size: int, max_len: int, enc_BxLxD):
    dtype = layers.dtype_of(self.compute_dtype)
    return [layer.init_cache(batch_size, max_len, enc_BxLxD, dtype)
            for layer in self.layers]

  def __call__(self, tokens_BxG, enc_BxLxD, enc_mask_BxL, *, cache=None,
               cache_index=None, key=None):
    """Returns (logits_BxGxV float32, new cache or None)."""
    dtype = layers.dtype_of(self.compute_dtype)
    offset = 0 if cache is None else cache_index
    h_BxGxD = self.embed(tokens_BxG, offset=offset, dtype=dtype)
    h_BxGxD = layers.dropout(h_BxGxD, self.dropout_rate, layers.fold(key, 0))
    h_BxGxD, new_cache = layers.decoder_stack(
        self.layers, h_BxGxD, enc_BxLxD, enc_mask_BxL, cache=cache,
        cache_index=cache_index, key=key, first_key=1, dtype=dtype)
    logits = self.logits(self.final_ln(h_BxGxD), dtype)
    return logits.astype(jnp.float32), new_cache
