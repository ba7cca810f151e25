"""Back-translation model: produced poses -> spoken-language text.

A small pre-LayerNorm transformer encoder-decoder (Camgoz et al. style sign
language transformer, as PT used) written with flax.nnx primitives:
pose frames [B, T, 151] -> Linear -> + sinusoids -> encoder; text tokens ->
Embed -> + sinusoids -> causal decoder with cross-attention -> vocabulary
logits. BLEU/ROUGE of its translations of produced poses, against the source
sentences, are the paper's headline numbers; ground-truth poses through the
same model give the ceiling. Scores are comparable only under one model.

Token conventions: 0 is padding; the decoder input is BOS followed by the
target; with `cfg.append_eos` (default) an EOS is appended after the last
text token so that decoding learns to stop (switch it off when the tokenizer
already ends `text` with EOS). Missing joints (NaN) enter as 0.
"""

import functools
import math
from typing import Any, Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm
from flax import nnx

from signllm_jax import skeleton

BATCH_KEYS = ("pose", "pose_mask", "text", "text_mask")


def default_config() -> ml_collections.ConfigDict:
  """Defaults for the back-translation model (a small Camgoz-style SLT)."""
  cfg = ml_collections.ConfigDict()
  cfg.num_layers = 2  # encoder layers = decoder layers
  cfg.width = 256
  cfg.heads = 4
  cfg.mlp = 1024
  cfg.dropout = 0.1
  cfg.max_frames = 400
  cfg.max_text_len = 64  # text tokens, EOS included
  cfg.vocab_size = 8000
  cfg.frame_dim = skeleton.FRAME_DIM
  cfg.pad_id = 0
  cfg.bos_id = 1
  cfg.eos_id = 2
  cfg.append_eos = True
  cfg.lr = 1e-3
  cfg.grad_clip = 5.0
  cfg.seed = 0
  return cfg


def sinusoids(length: int, width: int) -> jax.Array:
  """Transformer sinusoidal position table [length, width]."""
  pos = np.arange(length)[:, None]
  div = np.exp(np.arange(0, width, 2) * (-math.log(10000.0) / width))
  table = np.zeros((length, width), np.float32)
  table[:, 0::2] = np.sin(pos * div)
  table[:, 1::2] = np.cos(pos * div)[:, :width // 2]
  return jnp.asarray(table)


class Attention(nnx.Module):
  """Multi-head dot-product attention with a boolean [B, Q, K] mask."""

  def __init__(self, width: int, heads: int, dropout: float, *,
               rngs: nnx.Rngs):
    if width % heads:
      raise ValueError(f"width {width} is not divisible by heads {heads}")
    self.heads = heads
    self.q = nnx.Linear(width, width, rngs=rngs)
    self.k = nnx.Linear(width, width, rngs=rngs)
    self.v = nnx.Linear(width, width, rngs=rngs)
    self.o = nnx.Linear(width, width, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x_BxQxD, ctx_BxKxD, mask_BxQxK, *, train: bool):
    b, q_len, d = x_BxQxD.shape
    k_len, h = ctx_BxKxD.shape[1], self.heads
    q_BxQxHxK = self.q(x_BxQxD).reshape(b, q_len, h, d // h)
    k_BxKxHxK = self.k(ctx_BxKxD).reshape(b, k_len, h, d // h)
    v_BxKxHxK = self.v(ctx_BxKxD).reshape(b, k_len, h, d // h)
    logits_BxHxQxK = jnp.einsum("bqhd,bkhd->bhqk", q_BxQxHxK,
                                k_BxKxHxK) / math.sqrt(d // h)
    logits_BxHxQxK = jnp.where(mask_BxQxK[:, None], logits_BxHxQxK, -1e9)
    att_BxHxQxK = self.dropout(jax.nn.softmax(logits_BxHxQxK, axis=-1),
                               deterministic=not train)
    out_BxQxHxK = jnp.einsum("bhqk,bkhd->bqhd", att_BxHxQxK, v_BxKxHxK)
    return self.o(out_BxQxHxK.reshape(b, q_len, d))


class Mlp(nnx.Module):

  def __init__(self, width: int, hidden: int, dropout: float, *,
               rngs: nnx.Rngs):
    self.up = nnx.Linear(width, hidden, rngs=rngs)
    self.down = nnx.Linear(hidden, width, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x, *, train: bool):
    return self.down(self.dropout(jax.nn.gelu(self.up(x)),
                                  deterministic=not train))


class EncoderLayer(nnx.Module):

  def __init__(self, cfg, *, rngs: nnx.Rngs):
    self.norm1 = nnx.LayerNorm(cfg.width, rngs=rngs)
    self.attn = Attention(cfg.width, cfg.heads, cfg.dropout, rngs=rngs)
    self.norm2 = nnx.LayerNorm(cfg.width, rngs=rngs)
    self.mlp = Mlp(cfg.width, cfg.mlp, cfg.dropout, rngs=rngs)
    self.dropout = nnx.Dropout(cfg.dropout, rngs=rngs)

  def __call__(self, x, mask_BxTxT, *, train: bool):
    y = self.norm1(x)
    x = x + self.dropout(self.attn(y, y, mask_BxTxT, train=train),
                         deterministic=not train)
    return x + self.dropout(self.mlp(self.norm2(x), train=train),
                            deterministic=not train)


class DecoderLayer(nnx.Module):

  def __init__(self, cfg, *, rngs: nnx.Rngs):
    self.norm1 = nnx.LayerNorm(cfg.width, rngs=rngs)
    self.self_attn = Attention(cfg.width, cfg.heads, cfg.dropout, rngs=rngs)
    self.norm2 = nnx.LayerNorm(cfg.width, rngs=rngs)
    self.cross_attn = Attention(cfg.width, cfg.heads, cfg.dropout, rngs=rngs)
    self.norm3 = nnx.LayerNorm(cfg.width, rngs=rngs)
    self.mlp = Mlp(cfg.width, cfg.mlp, cfg.dropout, rngs=rngs)
    self.dropout = nnx.Dropout(cfg.dropout, rngs=rngs)

  def __call__(self, x, memory, self_mask, cross_mask, *, train: bool):
    drop = functools.partial(self.dropout, deterministic=not train)
    y = self.norm1(x)
    x = x + drop(self.self_attn(y, y, self_mask, train=train))
    x = x + drop(self.cross_attn(self.norm2(x), memory, cross_mask,
                                 train=train))
    return x + drop(self.mlp(self.norm3(x), train=train))


class BackTranslator(nnx.Module):
  """Sign-to-text transformer: pose frames [B, T, 151] -> token logits."""

  def __init__(self, cfg: ml_collections.ConfigDict, *, rngs: nnx.Rngs):
    self.width = cfg.width
    self.max_frames = cfg.max_frames
    self.max_text_len = cfg.max_text_len
    self.frame_in = nnx.Linear(cfg.frame_dim, cfg.width, rngs=rngs)
    self.embed = nnx.Embed(cfg.vocab_size, cfg.width, rngs=rngs)
    self.in_dropout = nnx.Dropout(cfg.dropout, rngs=rngs)
    self.encoder = nnx.List([EncoderLayer(cfg, rngs=rngs)
                             for _ in range(cfg.num_layers)])
    self.decoder = nnx.List([DecoderLayer(cfg, rngs=rngs)
                             for _ in range(cfg.num_layers)])
    self.enc_norm = nnx.LayerNorm(cfg.width, rngs=rngs)
    self.dec_norm = nnx.LayerNorm(cfg.width, rngs=rngs)
    self.logits = nnx.Linear(cfg.width, cfg.vocab_size, rngs=rngs)

  def encode(self, pose_BxTxF, pose_mask_BxT, *, train: bool = False):
    t = pose_BxTxF.shape[1]
    if t > self.max_frames:
      raise ValueError(f"{t} frames exceed max_frames={self.max_frames}")
    x = self.frame_in(jnp.nan_to_num(pose_BxTxF, nan=0.0))
    x = self.in_dropout(x + sinusoids(t, self.width)[None],
                        deterministic=not train)
    mask_BxTxT = pose_mask_BxT[:, None, :] & pose_mask_BxT[:, :, None]
    # Padded query rows attend to themselves only (avoids all-masked rows).
    mask_BxTxT = mask_BxTxT | jnp.eye(t, dtype=bool)[None]
    for layer in self.encoder:
      x = layer(x, mask_BxTxT, train=train)
    return self.enc_norm(x)

  def decode(self, tokens_BxL, memory_BxTxD, pose_mask_BxT, *,
             train: bool = False):
    l = tokens_BxL.shape[1]
    if l > self.max_text_len + 1:
      raise ValueError(f"{l} decoder positions exceed max_text_len + 1 = "
                       f"{self.max_text_len + 1}")
    x = self.embed(tokens_BxL) * math.sqrt(self.width)
    x = self.in_dropout(x + sinusoids(l, self.width)[None],
                        deterministic=not train)
    b = tokens_BxL.shape[0]
    causal_BxLxL = jnp.broadcast_to(jnp.tril(jnp.ones((l, l), bool)),
                                    (b, l, l))
    cross_BxLxT = jnp.broadcast_to(pose_mask_BxT[:, None, :],
                                   (b, l, pose_mask_BxT.shape[1]))
    for layer in self.decoder:
      x = layer(x, memory_BxTxD, causal_BxLxL, cross_BxLxT, train=train)
    return self.logits(self.dec_norm(x))

  def __call__(self, pose_BxTxF, pose_mask_BxT, tokens_BxL, *,
               train: bool = False):
    memory = self.encode(pose_BxTxF, pose_mask_BxT, train=train)
    return self.decode(tokens_BxL, memory, pose_mask_BxT, train=train)


def make_targets(text_BxL, text_mask_BxL, *, bos_id: int, eos_id: int,
                 append_eos: bool):
  """(decoder input, target, target mask) for teacher forcing."""
  text_BxL = jnp.where(text_mask_BxL, text_BxL, 0).astype(jnp.int32)
  mask_BxL = text_mask_BxL.astype(bool)
  if append_eos:
    b = text_BxL.shape[0]
    lengths_B = jnp.sum(mask_BxL, axis=1)
    target = jnp.concatenate([text_BxL, jnp.zeros((b, 1), jnp.int32)], 1)
    target = target.at[jnp.arange(b), lengths_B].set(eos_id)
    mask_BxL = jnp.arange(target.shape[1])[None] <= lengths_B[:, None]
    source = text_BxL  # the EOS is predicted, never fed back
  else:
    target, source = text_BxL, text_BxL[:, :-1]
  bos = jnp.full((target.shape[0], 1), bos_id, jnp.int32)
  return jnp.concatenate([bos, source], 1), target, mask_BxL


def loss_fn(model: BackTranslator, batch: dict, *, train: bool = True,
            bos_id: int = 1, eos_id: int = 2, append_eos: bool = True):
  """Mean token cross-entropy over target tokens; (loss, metrics)."""
  dec_in, target, mask_BxL = make_targets(
      batch["text"], batch["text_mask"], bos_id=bos_id, eos_id=eos_id,
      append_eos=append_eos)
  logits_BxLxV = model(batch["pose"], batch["pose_mask"].astype(bool), dec_in,
                       train=train)
  ce_BxL = optax.softmax_cross_entropy_with_integer_labels(
      logits_BxLxV.astype(jnp.float32), target)
  weights = mask_BxL.astype(jnp.float32)
  n_tokens = jnp.maximum(weights.sum(), 1.0)
  loss = jnp.sum(ce_BxL * weights) / n_tokens
  correct_BxL = (jnp.argmax(logits_BxLxV, -1) == target) | ~mask_BxL
  metrics = {
      "loss": loss,
      "token_accuracy": jnp.sum((correct_BxL & mask_BxL) * 1.0) / n_tokens,
      "sequence_accuracy": jnp.mean(jnp.all(correct_BxL, axis=1) * 1.0),
  }
  return loss, metrics


def make_optimizer(model: BackTranslator, cfg) -> nnx.Optimizer:
  tx = optax.chain(optax.clip_by_global_norm(cfg.grad_clip),
                   optax.adam(cfg.lr))
  return nnx.Optimizer(model, tx, wrt=nnx.Param)


@functools.partial(jax.jit, static_argnums=(0,),
                   static_argnames=("bos_id", "eos_id", "append_eos"))
def train_step(graphdef, state, batch, *, bos_id: int = 1, eos_id: int = 2,
               append_eos: bool = True):
  """One Adam step on (model, optimizer) state; returns (state, metrics)."""
  model, optimizer = nnx.merge(graphdef, state)
  grad_fn = nnx.value_and_grad(
      lambda m: loss_fn(m, batch, train=True, bos_id=bos_id, eos_id=eos_id,
                        append_eos=append_eos), has_aux=True)
  (_, metrics), grads = grad_fn(model)
  optimizer.update(model, grads)
  metrics["grad_norm"] = optax.tree.norm(grads)
  return nnx.state((model, optimizer)), metrics


@functools.partial(jax.jit, static_argnums=(0,),
                   static_argnames=("max_len", "bos_id", "eos_id"))
def _greedy(graphdef, state, pose_BxTxF, pose_mask_BxT, *, max_len: int,
            bos_id: int, eos_id: int):
  model = nnx.merge(graphdef, state)
  memory = model.encode(pose_BxTxF, pose_mask_BxT, train=False)
  b = pose_BxTxF.shape[0]
  buf_BxL = jnp.zeros((b, max_len + 1), jnp.int32).at[:, 0].set(bos_id)

  def cond(carry):
    t, _, done_B = carry
    return (t < max_len) & ~jnp.all(done_B)

  def body(carry):
    # No KV cache: each step re-reads the prefix (texts are short).
    t, buf_BxL, done_B = carry
    logits_BxLxV = model.decode(buf_BxL[:, :max_len], memory, pose_mask_BxT)
    next_B = jnp.argmax(jax.lax.dynamic_index_in_dim(
        logits_BxLxV, t, axis=1, keepdims=False), -1).astype(jnp.int32)
    next_B = jnp.where(done_B, 0, next_B)
    buf_BxL = jax.lax.dynamic_update_slice_in_dim(buf_BxL, next_B[:, None],
                                                  t + 1, axis=1)
    return t + 1, buf_BxL, done_B | (next_B == eos_id)

  _, buf_BxL, _ = jax.lax.while_loop(
      cond, body, (jnp.array(0), buf_BxL, jnp.zeros((b,), bool)))
  return buf_BxL[:, 1:]


def greedy_decode(model: BackTranslator, pose_BxTxF, pose_mask_BxT, *,
                  max_len: int, bos_id: int, eos_id: int) -> jax.Array:
  """Greedy decoding as one compiled program: token ids [B, max_len].

  Each row holds the generated tokens, its EOS (if emitted within max_len)
  and zeros (padding) after it; BOS is not included.
  """
  if max_len > model.max_text_len + 1:
    raise ValueError(f"max_len={max_len} exceeds the model's max_text_len + 1"
                     f" = {model.max_text_len + 1}")
  graphdef, state = nnx.split(model)
  return _greedy(graphdef, state, jnp.asarray(pose_BxTxF, jnp.float32),
                 jnp.asarray(pose_mask_BxT, bool), max_len=max_len,
                 bos_id=bos_id, eos_id=eos_id)


def train_backtranslator(
    train_batches_iterator: Iterable[dict], cfg: ml_collections.ConfigDict, *,
    steps: int, progress: bool = True,
) -> tuple[BackTranslator, list[dict[str, float]]]:
  """Trains a BackTranslator for `steps` batches; returns (model, history).

  Batches use the project layout: pose [B, T, 151] float, pose_mask [B, T],
  text [B, L] int32 (0 = pad), text_mask [B, L]; other keys are ignored.
  Keep T and L fixed across batches to compile once.
  """
  model = BackTranslator(cfg, rngs=nnx.Rngs(cfg.seed))
  optimizer = make_optimizer(model, cfg)
  graphdef, state = nnx.split((model, optimizer))
  history = []
  batches = iter(train_batches_iterator)
  for step in tqdm.trange(steps, disable=not progress, desc="back-translator"):
    try:
      batch = next(batches)
    except StopIteration:
      raise ValueError(f"the batch iterator ended after {step} of {steps} "
                       "steps") from None
    missing = [k for k in BATCH_KEYS if k not in batch]
    if missing:
      raise ValueError(f"batch {step} lacks keys {missing}")
    state, metrics = train_step(
        graphdef, state, {k: jnp.asarray(batch[k]) for k in BATCH_KEYS},
        bos_id=cfg.bos_id, eos_id=cfg.eos_id, append_eos=cfg.append_eos)
    history.append({k: float(v) for k, v in metrics.items()})
  model, _ = nnx.merge(graphdef, state)
  return model, history


def _as_frames(poses: Any) -> np.ndarray:
  poses = np.asarray(poses, np.float32)
  if poses.ndim == 4:  # [N, T, J, 3]: add the internal counter
    n, t = poses.shape[:2]
    counter = np.broadcast_to((np.arange(t) + 1) / t, (n, t))[..., None]
    poses = np.concatenate([poses.reshape(n, t, -1), counter], -1)
  if poses.ndim != 3 or poses.shape[-1] != skeleton.FRAME_DIM:
    raise ValueError(f"poses must be [N, T, {skeleton.FRAME_DIM}] or "
                     f"[N, T, {skeleton.NUM_JOINTS}, 3], got {poses.shape}")
  return poses.astype(np.float32)


def translate(model: BackTranslator, poses, masks,
              tokenizer_decode_fn: Callable[[list[int]], str], *,
              max_len: int | None = None, bos_id: int = 1, eos_id: int = 2,
              batch_size: int = 32) -> list[str]:
  """Back-translates padded poses [N, T, 151] (or [N, T, 50, 3]) to text.

  With [N, T, 50, 3] input the counter is (i+1)/T over the padded length;
  prefer 151-d frames with per-sequence counters. Tokens after EOS (and EOS
  itself) are dropped before `tokenizer_decode_fn`.
  """
  frames = _as_frames(poses)
  masks = np.asarray(masks, bool)
  if masks.shape != frames.shape[:2]:
    raise ValueError(f"masks {masks.shape} do not match poses "
                     f"{frames.shape[:2]}")
  max_len = model.max_text_len if max_len is None else max_len
  texts = []
  for s in range(0, len(frames), batch_size):
    chunk, chunk_mask = frames[s:s + batch_size], masks[s:s + batch_size]
    n = len(chunk)
    if n < batch_size and len(frames) > batch_size:
      # Pad the last chunk to the batch size: one compiled shape.
      chunk = np.concatenate([chunk, np.zeros_like(frames[:batch_size - n])])
      chunk_mask = np.concatenate(
          [chunk_mask, np.ones_like(masks[:batch_size - n])])
    ids = np.asarray(greedy_decode(model, chunk, chunk_mask, max_len=max_len,
                                   bos_id=bos_id, eos_id=eos_id))[:n]
    texts.extend(tokenizer_decode_fn(_strip(row, eos_id)) for row in ids)
  return texts


def _strip(ids: Sequence[int], eos_id: int) -> list[int]:
  out = []
  for i in ids:
    if i == eos_id:
      break
    if i != 0:
      out.append(int(i))
  return out
