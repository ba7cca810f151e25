"""Transformer building blocks shared by the encoders and decoders.

Pre-LN blocks (LayerNorm before each sub-layer, a final LayerNorm after the
stack), the same arrangement as Progressive Transformers' PyTorch code. The
feed-forward uses ReLU as PT does. Parameters are float32; activations run in
a `compute_dtype` (float32 or bfloat16) while LayerNorm statistics and the
attention softmax are always computed in float32.

Logical axis names carried by every parameter (`out_sharding` metadata, read
with `nnx.get_partition_spec`; map them to mesh axes with rules):
  "vocab"  token vocabulary rows of embeddings and output logits,
  "embed"  model width D,
  "mlp"    feed-forward hidden width,
  "heads"  attention heads H,
  "kv"     per-head width Dh,
  "frame"  pose frame features (151, 151*k for future prediction, 1 for
           counter-only inputs),
  "lang"   language rows of the shared model's language embedding AND the
           leading stacked group axis of MLSF (added by `nnx.vmap`).

Dropout is a pure function of an explicit key: modules hold no RNG state, so
MLSF groups can be stacked and sliced freely. A `None` key means no dropout.
"""

import math

import jax
import jax.numpy as jnp
from flax import nnx

_NEG_INF = -1e30  # finite: a fully masked row gives uniform weights, not NaN


def _eager() -> bool:
  # flax shards annotated variables at creation, which needs a mesh: do it
  # only when one is set, else keep the names as metadata for the caller.
  return (nnx.using_eager_sharding()
          and not jax.sharding.get_abstract_mesh().empty)


def param_from(value, axes) -> nnx.Param:
  """Wraps a float32 value as a Param with logical axis names."""
  return nnx.Param(value, out_sharding=axes, eager_sharding=_eager())


class FrozenParam(nnx.Variable):
  """A parameter that is read but never trained: gradients and the optimizer
  take nnx.Param only, while checkpoints save every variable (the pose
  tokenizer inside a token-decoder model; a Prompt2LangGloss stage that its
  run does not train)."""


def freeze(module: nnx.Module) -> nnx.Module:
  """Turns every nnx.Param of `module` into a FrozenParam, in place."""
  for _, sub in nnx.iter_modules(module):
    for name, value in list(vars(sub).items()):
      if isinstance(value, nnx.Param):
        setattr(sub, name, FrozenParam(value[...], **value.get_metadata()))
  return module


def param(rngs: nnx.Rngs, init, shape, axes) -> nnx.Param:
  """A float32 parameter initialised by `init`, with logical axis names."""
  return param_from(init(rngs.params(), shape, jnp.float32), axes)


def dropout(x, rate: float, key):
  """Inverted dropout; identity when `key` is None or `rate` is 0."""
  if key is None or rate <= 0.0:
    return x
  keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)


def fold(key, n: int):
  """Derives a sub-key, passing `None` through."""
  return None if key is None else jax.random.fold_in(key, n)


def sinusoid(positions, d_model: int):
  """Sinusoidal encodings computed on the fly (no position table).

  Args:
    positions: integer array of any shape [...].
    d_model: output width (even).

  Returns:
    float32 [..., d_model]: sin on even channels, cos on odd (as PT).
  """
  half = d_model // 2
  inv_freq = jnp.exp(
      -math.log(10000.0) * jnp.arange(half, dtype=jnp.float32) * 2 / d_model)
  angle = positions.astype(jnp.float32)[..., None] * inv_freq
  return jnp.stack([jnp.sin(angle), jnp.cos(angle)], -1).reshape(
      *positions.shape, 2 * half)


class Dense(nnx.Module):
  """y = x W + b with logical axes (in_axis, out_axis)."""

  def __init__(self, d_in: int, d_out: int, axes, *, rngs: nnx.Rngs):
    self.kernel = param(rngs, nnx.initializers.xavier_uniform(),
                        (d_in, d_out), axes)
    self.bias = param(rngs, nnx.initializers.zeros_init(), (d_out,),
                      (axes[1],))

  def __call__(self, x, dtype=jnp.float32):
    x = x.astype(dtype)
    return x @ self.kernel[...].astype(dtype) + self.bias[...].astype(dtype)


class LayerNorm(nnx.Module):
  """LayerNorm over the last axis, statistics in float32."""

  def __init__(self, dim: int, *, eps: float = 1e-6):
    self.scale = param_from(jnp.ones((dim,), jnp.float32), ("embed",))
    self.bias = param_from(jnp.zeros((dim,), jnp.float32), ("embed",))
    self.eps = eps

  def __call__(self, x):
    x32 = x.astype(jnp.float32)
    mean = x32.mean(-1, keepdims=True)
    var = jnp.square(x32 - mean).mean(-1, keepdims=True)
    y = (x32 - mean) * jax.lax.rsqrt(var + self.eps)
    return (y * self.scale[...] + self.bias[...]).astype(x.dtype)


class Attention(nnx.Module):
  """Multi-head attention with an optional preallocated key/value cache."""

  def __init__(self, d_model: int, num_heads: int, *, dropout_rate: float,
               rngs: nnx.Rngs):
    if d_model % num_heads:
      raise ValueError(f"d_model {d_model} not divisible by heads {num_heads}")
    self.num_heads = num_heads
    self.head_dim = d_model // num_heads
    shape_in = (d_model, num_heads, self.head_dim)
    axes_in = ("embed", "heads", "kv")
    init = nnx.initializers.xavier_uniform(in_axis=0, out_axis=(1, 2))
    zeros = nnx.initializers.zeros_init()
    self.query = param(rngs, init, shape_in, axes_in)
    self.key = param(rngs, init, shape_in, axes_in)
    self.value = param(rngs, init, shape_in, axes_in)
    self.query_bias = param(rngs, zeros, shape_in[1:], axes_in[1:])
    self.key_bias = param(rngs, zeros, shape_in[1:], axes_in[1:])
    self.value_bias = param(rngs, zeros, shape_in[1:], axes_in[1:])
    self.out = param(
        rngs, nnx.initializers.xavier_uniform(in_axis=(0, 1), out_axis=2),
        (num_heads, self.head_dim, d_model), ("heads", "kv", "embed"))
    self.out_bias = param(rngs, zeros, (d_model,), ("embed",))
    self.dropout_rate = dropout_rate

  def _proj(self, x_BxSxD, w, b, dtype):
    return (jnp.einsum("bsd,dhk->bshk", x_BxSxD.astype(dtype),
                       w[...].astype(dtype)) + b[...].astype(dtype))

  def project_kv(self, x_BxSxD, dtype):
    """Keys and values [B, S, H, Dh] (precomputed once for cross-attention)."""
    return (self._proj(x_BxSxD, self.key, self.key_bias, dtype),
            self._proj(x_BxSxD, self.value, self.value_bias, dtype))

  def __call__(self, x_BxTxD, mask_BxTxS, *, kv_BxSxD=None, kv=None,
               cache=None, cache_index=None, key=None, dtype=jnp.float32,
               with_probs: bool = False):
    """Attends from x to kv_BxSxD (self-attention when both kv args are None).

    Args:
      x_BxTxD: queries' input.
      mask_BxTxS: bool, True where query t may attend to key s (broadcastable;
        with a cache, S is the cache length).
      kv_BxSxD: source of keys/values for cross-attention.
      kv: precomputed (k_BxSxHxK, v_BxSxHxK), overrides kv_BxSxD.
      cache: self-attention cache {"k", "v"} [B, T_max, H, Dh]; the new keys
        are written at `cache_index` and attention runs over the whole cache.
      cache_index: int32 scalar write position.
      key: dropout key on the attention weights or None.
      dtype: compute dtype.

      with_probs: also return the attention weights, averaged over heads.

    Returns:
      (y_BxTxD, new_cache or None), plus probs_BxTxS (float32) with_probs.
    """
    q_BxTxHxK = self._proj(x_BxTxD, self.query, self.query_bias, dtype)
    if kv is not None:
      k_BxSxHxK, v_BxSxHxK = kv
    else:
      k_BxSxHxK, v_BxSxHxK = self.project_kv(
          x_BxTxD if kv_BxSxD is None else kv_BxSxD, dtype)
    new_cache = None
    if cache is not None:
      start = (0, cache_index, 0, 0)
      k_BxSxHxK = jax.lax.dynamic_update_slice(
          cache["k"], k_BxSxHxK.astype(cache["k"].dtype), start)
      v_BxSxHxK = jax.lax.dynamic_update_slice(
          cache["v"], v_BxSxHxK.astype(cache["v"].dtype), start)
      new_cache = {"k": k_BxSxHxK, "v": v_BxSxHxK}
    logits_BxHxTxS = jnp.einsum(
        "bthk,bshk->bhts", q_BxTxHxK, k_BxSxHxK.astype(dtype),
        preferred_element_type=jnp.float32) / math.sqrt(self.head_dim)
    logits_BxHxTxS = jnp.where(mask_BxTxS[:, None], logits_BxHxTxS, _NEG_INF)
    probs_f32_BxHxTxS = jax.nn.softmax(logits_BxHxTxS, axis=-1)
    probs_BxHxTxS = dropout(probs_f32_BxHxTxS.astype(dtype),
                            self.dropout_rate, key)
    y_BxTxHxK = jnp.einsum("bhts,bshk->bthk", probs_BxHxTxS,
                           v_BxSxHxK.astype(dtype))
    y_BxTxD = (jnp.einsum("bthk,hkd->btd", y_BxTxHxK,
                          self.out[...].astype(dtype))
               + self.out_bias[...].astype(dtype))
    if with_probs:
      return y_BxTxD, new_cache, probs_f32_BxHxTxS.mean(1)
    return y_BxTxD, new_cache


class MLP(nnx.Module):
  """Position-wise feed-forward: Dense, ReLU, dropout, Dense."""

  def __init__(self, d_model: int, d_ff: int, *, dropout_rate: float,
               rngs: nnx.Rngs):
    self.up = Dense(d_model, d_ff, ("embed", "mlp"), rngs=rngs)
    self.down = Dense(d_ff, d_model, ("mlp", "embed"), rngs=rngs)
    self.dropout_rate = dropout_rate

  def __call__(self, x_BxTxD, *, key=None, dtype=jnp.float32):
    h = jax.nn.relu(self.up(x_BxTxD, dtype))
    return self.down(dropout(h, self.dropout_rate, key), dtype)


class EncoderLayer(nnx.Module):
  """Pre-LN self-attention + feed-forward block."""

  def __init__(self, d_model, num_heads, d_ff, *, dropout_rate, rngs):
    self.ln_attn = LayerNorm(d_model)
    self.attn = Attention(d_model, num_heads, dropout_rate=dropout_rate,
                          rngs=rngs)
    self.ln_mlp = LayerNorm(d_model)
    self.mlp = MLP(d_model, d_ff, dropout_rate=dropout_rate, rngs=rngs)
    self.dropout_rate = dropout_rate

  def __call__(self, x_BxLxD, mask_BxLxL, *, key=None, dtype=jnp.float32):
    h, _ = self.attn(self.ln_attn(x_BxLxD), mask_BxLxL, key=fold(key, 0),
                     dtype=dtype)
    x_BxLxD = x_BxLxD + dropout(h, self.dropout_rate, fold(key, 1))
    h = self.mlp(self.ln_mlp(x_BxLxD), key=fold(key, 2), dtype=dtype)
    return x_BxLxD + dropout(h, self.dropout_rate, fold(key, 3))


class DecoderLayer(nnx.Module):
  """Pre-LN causal self-attention, cross-attention and feed-forward."""

  def __init__(self, d_model, num_heads, d_ff, *, dropout_rate, rngs):
    self.ln_self = LayerNorm(d_model)
    self.self_attn = Attention(d_model, num_heads, dropout_rate=dropout_rate,
                               rngs=rngs)
    self.ln_cross = LayerNorm(d_model)
    self.cross_attn = Attention(d_model, num_heads,
                                dropout_rate=dropout_rate, rngs=rngs)
    self.ln_mlp = LayerNorm(d_model)
    self.mlp = MLP(d_model, d_ff, dropout_rate=dropout_rate, rngs=rngs)
    self.dropout_rate = dropout_rate

  def __call__(self, x_BxTxD, self_mask_BxTxS, enc_BxLxD, cross_mask_BxTxL,
               *, cache=None, cache_index=None, key=None,
               dtype=jnp.float32, with_probs: bool = False):
    """Returns (y_BxTxD, new_cache), plus the cross-attention weights
    [B, T, L] (mean over heads) with_probs; cache holds k, v, cross_k,
    cross_v."""
    self_cache = None if cache is None else {"k": cache["k"],
                                             "v": cache["v"]}
    h, new_self = self.self_attn(
        self.ln_self(x_BxTxD), self_mask_BxTxS, cache=self_cache,
        cache_index=cache_index, key=fold(key, 0), dtype=dtype)
    x_BxTxD = x_BxTxD + dropout(h, self.dropout_rate, fold(key, 1))
    cross_kv = None if cache is None else (cache["cross_k"],
                                           cache["cross_v"])
    h, _, *probs = self.cross_attn(
        self.ln_cross(x_BxTxD), cross_mask_BxTxL, kv_BxSxD=enc_BxLxD,
        kv=cross_kv, key=fold(key, 2), dtype=dtype, with_probs=with_probs)
    x_BxTxD = x_BxTxD + dropout(h, self.dropout_rate, fold(key, 3))
    h = self.mlp(self.ln_mlp(x_BxTxD), key=fold(key, 4), dtype=dtype)
    x_BxTxD = x_BxTxD + dropout(h, self.dropout_rate, fold(key, 5))
    new_cache = None
    if cache is not None:
      new_cache = dict(new_self, cross_k=cache["cross_k"],
                       cross_v=cache["cross_v"])
    return (x_BxTxD, new_cache, *probs)

  def init_cache(self, batch_size: int, max_len: int, enc_BxLxD, dtype):
    """Zeroed self-attention cache plus the precomputed cross keys/values."""
    attn = self.self_attn
    shape = (batch_size, max_len, attn.num_heads, attn.head_dim)
    cross_k, cross_v = self.cross_attn.project_kv(enc_BxLxD, dtype)
    return {"k": jnp.zeros(shape, dtype), "v": jnp.zeros(shape, dtype),
            "cross_k": cross_k, "cross_v": cross_v}


def decoder_stack(decoder_layers, h_BxTxD, enc_BxLxD, enc_mask_BxL, *,
                  cache=None, cache_index=None, key=None, first_key: int,
                  dtype=jnp.float32, with_probs: bool = False):
  """Runs causal DecoderLayers over h (queries at cache_index onwards when
  cached) -> (h_BxTxD, new per-layer caches or None), plus with_probs the
  cross-attention weights [B, T, L] averaged over layers and heads. Layer
  i's dropout key is fold(key, first_key + i)."""
  t = h_BxTxD.shape[1]
  offset = 0 if cache is None else cache_index
  kv_len = t if cache is None else cache[0]["k"].shape[1]
  self_mask_1xTxS = causal_mask(t, kv_len, offset)
  cross_mask_Bx1xL = enc_mask_BxL[:, None, :]
  new_cache = None if cache is None else []
  probs = []
  for i, layer in enumerate(decoder_layers):
    h_BxTxD, layer_cache, *layer_probs = layer(
        h_BxTxD, self_mask_1xTxS, enc_BxLxD, cross_mask_Bx1xL,
        cache=None if cache is None else cache[i], cache_index=cache_index,
        key=fold(key, first_key + i), dtype=dtype, with_probs=with_probs)
    probs += layer_probs
    if cache is not None:
      new_cache.append(layer_cache)
  if with_probs:
    return h_BxTxD, new_cache, sum(probs) / len(probs)
  return h_BxTxD, new_cache


def causal_mask(q_len: int, kv_len: int, offset=0):
  """[1, q_len, kv_len] bool: query at offset + t sees keys s <= offset + t."""
  q_pos = offset + jnp.arange(q_len)
  return (jnp.arange(kv_len)[None, :] <= q_pos[:, None])[None]


def dtype_of(name: str):
  """'float32' | 'bfloat16' -> jnp dtype."""
  try:
    return {"float32": jnp.float32, "fp32": jnp.float32,
            "bfloat16": jnp.bfloat16, "bf16": jnp.bfloat16}[name]
  except KeyError:
    raise ValueError(f"compute_dtype must be float32 or bfloat16, got {name!r}"
                     ) from None
