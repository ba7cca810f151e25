"""Progressive pose decoder (Progressive Transformers, Saunders et al. 2020).

Autoregressive over 151-d frames (150 joint values + progress counter). At
position t the decoder sees frames 0..t-1 (teacher forcing: the target shifted
right by one behind a START frame) and predicts frame t, so its output is
aligned with `batch["pose"]`. START = all zeros, i.e. counter 0, which is the
natural "before the first frame" value of the internal counter (i+1)/T.

Options (PT's):
  future_prediction k: the output at t is frames t, t+1, ..., t+k-1
    concatenated ([..., k*151]); the loss covers every future that exists
    (losses.future_targets); decoding uses the first slot.
  input noise: during training, Gaussian noise with std `noise_std *
    noise_scale_C` is added to the 150 joint channels of every decoder input
    (never to the counter). `noise_scale_C` is a per-channel vector (the
    model's `NoiseScale` variable, ones by default) that a trainer may set
    from last epoch's per-joint error as PT does; ones = isotropic noise.
  counter-only input: the decoder input is only the counter channel of the
    previous frames (a Dense 1 -> D instead of 151 -> D).
"""

import jax
import jax.numpy as jnp
from flax import nnx

from signllm_jax import skeleton
from signllm_jax.model import layers


def shift_right(pose_BxTxF):
  """Teacher-forcing inputs: [START, frame 0, ..., frame T-2], START = 0."""
  return jnp.pad(pose_BxTxF[:, :-1], ((0, 0), (1, 0), (0, 0)))


def start_frames(batch_size: int, frame_dim: int = skeleton.FRAME_DIM):
  """The START frame fed at position 0 when generating: zeros."""
  return jnp.zeros((batch_size, 1, frame_dim), jnp.float32)


class PoseDecoder(nnx.Module):
  """Causal self-attention + cross-attention decoder over pose frames."""

  def __init__(self, *, d_model: int, num_heads: int, d_ff: int,
               num_layers: int, dropout_rate: float,
               frame_dim: int = skeleton.FRAME_DIM, future: int = 1,
               counter_only: bool = False, noise_std: float = 0.0,
               compute_dtype: str = "float32", rngs: nnx.Rngs):
    self.frame_dim = frame_dim
    self.future = future
    self.counter_only = counter_only
    self.noise_std = noise_std
    self.d_model = d_model
    self.compute_dtype = compute_dtype
    self.dropout_rate = dropout_rate
    in_dim = 1 if counter_only else frame_dim
    self.in_proj = layers.Dense(in_dim, d_model, ("frame", "embed"),
                                rngs=rngs)
    self.layers = nnx.List([
        layers.DecoderLayer(d_model, num_heads, d_ff,
                            dropout_rate=dropout_rate, rngs=rngs)
        for _ in range(num_layers)])
    self.final_ln = layers.LayerNorm(d_model)
    self.out_proj = layers.Dense(d_model, frame_dim * future,
                                 ("embed", "frame"), rngs=rngs)

  def init_cache(self, batch_size: int, max_len: int, enc_BxLxD):
    """Per-layer caches: self k/v [B, max_len, H, Dh] + cross k/v."""
    dtype = layers.dtype_of(self.compute_dtype)
    return [layer.init_cache(batch_size, max_len, enc_BxLxD, dtype)
            for layer in self.layers]

  def __call__(self, frames_in_BxTxF, enc_BxLxD, enc_mask_BxL, *,
               train: bool, cache=None, cache_index=None, extra_BxD=None,
               key=None, noise_scale_C=None, with_probs: bool = False):
    """Predicts the next frame(s) for every input position.

    Args:
      frames_in_BxTxF: decoder inputs (shift_right of the targets when
        teacher forcing; the previous generated frame(s) when decoding).
      enc_BxLxD: encoder output.
      enc_mask_BxL: bool, True on real source tokens.
      train: enables input noise and dropout (dropout also needs `key`).
      cache: from `init_cache` (or a previous call) for incremental decoding;
        inputs are written at positions cache_index .. cache_index + T - 1.
      cache_index: int32 scalar, the position of frames_in_BxTxF[:, 0].
      extra_BxD: optional vector added to every input (language embedding).
      key: PRNG key for noise and dropout, or None.
      noise_scale_C: per joint-channel noise multiplier [150], or None.
      with_probs: also return the cross-attention weights [B, T, L] (mean
        over layers and heads; the guided-attention loss reads them).

    Returns:
      (pred_BxTxO float32 with O = frame_dim * future, new cache or None),
      plus the weights with_probs.
    """
    dtype = layers.dtype_of(self.compute_dtype)
    x_BxTxF = frames_in_BxTxF.astype(jnp.float32)
    if train and self.noise_std > 0 and key is not None:
      c = self.frame_dim - 1
      noise_BxTxC = self.noise_std * jax.random.normal(
          layers.fold(key, 0), x_BxTxF.shape[:2] + (c,))
      if noise_scale_C is not None:
        noise_BxTxC = noise_BxTxC * noise_scale_C
      x_BxTxF = x_BxTxF.at[..., :c].add(noise_BxTxC)
    if self.counter_only:
      x_BxTxF = x_BxTxF[..., -1:]
    key = key if train else None
    t_in = frames_in_BxTxF.shape[1]
    offset = 0 if cache is None else cache_index
    h_BxTxD = self.in_proj(x_BxTxF, dtype) + layers.sinusoid(
        offset + jnp.arange(t_in), self.d_model).astype(dtype)
    if extra_BxD is not None:
      h_BxTxD = h_BxTxD + extra_BxD[:, None].astype(dtype)
    h_BxTxD = layers.dropout(h_BxTxD, self.dropout_rate, layers.fold(key, 1))
    h_BxTxD, new_cache, *probs = layers.decoder_stack(
        self.layers, h_BxTxD, enc_BxLxD, enc_mask_BxL, cache=cache,
        cache_index=cache_index, key=key, first_key=2, dtype=dtype,
        with_probs=with_probs)
    out = self.out_proj(self.final_ln(h_BxTxD), dtype)
    return (out.astype(jnp.float32), new_cache, *probs)
