"""Autoregressive pose generation: one compiled XLA program per setting.

`generate_pose` runs a `lax.while_loop` over frames for the whole batch with
preallocated key/value caches [B, max_len, H, Dh] (cross-attention keys and
values of the source are computed once). Works for every model of
signllm_jax.model through `model.pose_branch(batch)`: MLSF selects the group
of batch["lang"][0]; the shared and Prompt2LangGloss stage-2 models use their
one encoder-decoder (for P2LG put decoded LangGloss tokens in
batch["lang_gloss"] / batch["lang_gloss_mask"]).

Timing modes (`length_mode`, reported back as out["timing"]):
  "counter"  the model's own timing: a sequence stops at the first frame
             whose predicted counter >= stop_threshold (default
             1 - 0.5 / max_len: the internal counter of a T-frame clip is
             (i+1)/T, so only a last frame reaches it for any T <= max_len);
             that frame is kept. Sequences that never stop get max_len.
  "length"   the model's own length head (model.length_head): each
             sequence runs for round(exp(predicted log length)) frames
             (clipped to [1, max_len]) and its counter channel is set to the
             schedule (i+1)/T of that length, fed back as in training.
  "oracle"   PT's released decoder: the predicted counter is overwritten by
             the ground truth counter of batch["pose"] (also fed back), and
             each sequence runs for its ground-truth batch["length"]. DTW
             numbers from it assume known timing: report them as such.
Frames after a sequence's end are zero. `use_cache=False` is the full
re-compute decoder (no cache: every step re-runs the decoder over the whole
[B, max_len] input buffer under the causal mask), the cost model of the
PyTorch reference, kept for benchmarks; both give the same frames.

A model with the token decoder (model.pose_decoder = "tokens") goes to
generate/token_decode.py with the same timing modes; `temperature`, `top_k`
and `seed` choose its sampling (greedy by default) and out["tokens"] holds
its codes.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from signllm_jax.generate import token_decode
from signllm_jax.model import pose_decoder


LENGTH_MODES = ("counter", "length", "oracle")
TIMING = {"counter": "predicted", "length": "predicted length",
          "oracle": "oracle"}


def default_threshold(max_len: int) -> float:
  return 1.0 - 0.5 / max_len


class _Carry(NamedTuple):
  """The decode loop's state between frames."""
  t: jax.Array  # frames written so far
  prev_Bx1xF: jax.Array  # the last frame: the next step's input
  cache: Any  # the decoder's KV cache (None: full re-compute)
  inputs: Any  # full re-compute: every input frame so far (else None)
  frames_BxTxF: jax.Array  # the output, zero after each row's end
  done_B: jax.Array
  len_B: jax.Array  # each row's length (max_len until it stops)


def generate_pose(model, batch, *, max_len: int, length_mode: str = "counter",
                  stop_threshold: float | None = None,
                  use_cache: bool = True, temperature: float = 0.0,
                  top_k: int = 0, seed: int = 0):
  """Generates poses for a batch.

  Args:
    model: a model from signllm_jax.model.build_model (eval mode is implied).
    batch: dict of arrays (source tokens as the model needs; "lang";
      "pose" and "length" for the oracle mode).
    max_len: frames generated at most (static; the cache length).
    length_mode: "counter", "length" or "oracle" (module docstring).
    stop_threshold: counter value that ends a sequence (counter mode).
    use_cache: False = full re-compute decoder (benchmark twin of PT).
    temperature, top_k, seed: token decoder sampling (module docstring).

  Returns:
    {"pose": float32 [B, max_len, F], "lengths": int32 [B],
     "timing": "predicted" | "predicted length" | "oracle"}, and for the
    token decoder "tokens" int32 [B, max_len // ds, 3] and "token_lengths".
  """
  if length_mode not in LENGTH_MODES:
    raise ValueError(f"length_mode must be one of {LENGTH_MODES}, got "
                     f"{length_mode!r}")
  if length_mode == "oracle" and ("pose" not in batch or
                                  "length" not in batch):
    raise ValueError("oracle timing needs batch['pose'] and batch['length']")
  threshold = (default_threshold(max_len) if stop_threshold is None
               else float(stop_threshold))
  graphdef, state = nnx.split(model)
  arrays = {k: v for k, v in batch.items() if hasattr(v, "shape")}
  if getattr(model, "pose_tokenizer", None) is not None:
    if not use_cache:
      raise ValueError("the token decoder has no full re-compute twin "
                       "(use_cache=False is the continuous decoder's)")
    pose, lengths, tokens, token_len = token_decode.generate(
        graphdef, state, arrays, max_len=max_len, mode=length_mode,
        temperature=temperature, top_k=top_k, seed=seed)
    return {"pose": pose, "lengths": lengths, "timing": TIMING[length_mode],
            "tokens": tokens, "token_lengths": token_len}
  if temperature > 0 or top_k:
    raise ValueError("temperature / top_k sample the token decoder's codes; "
                     "this model regresses frames (model.pose_decoder "
                     "continuous)")
  pose, lengths = _generate(graphdef, state, arrays, max_len=max_len,
                            mode=length_mode, threshold=threshold,
                            use_cache=use_cache)
  return {"pose": pose, "lengths": lengths, "timing": TIMING[length_mode]}


@functools.partial(jax.jit, static_argnames=("graphdef", "max_len", "mode",
                                              "threshold", "use_cache"))
def _generate(graphdef, state, batch, *, max_len, mode, threshold,
              use_cache):
  model = nnx.merge(graphdef, state)
  encdec, tokens_BxL, mask_BxL, lang_B = model.pose_branch(batch)
  enc_BxLxD = encdec.encode(tokens_BxL, mask_BxL, lang_B)
  dec = encdec.decoder
  b, f = tokens_BxL.shape[0], dec.frame_dim
  # "oracle" and "length" both impose a length and its counter schedule;
  # they differ in where the length comes from.
  fixed_length = mode != "counter"
  if mode == "oracle":
    gt_counter_BxT = _fit(batch["pose"][..., -1], max_len)
    gt_len_B = jnp.minimum(batch["length"].astype(jnp.int32), max_len)
  elif mode == "length":
    log_len_B = encdec.predict_log_length(enc_BxLxD, mask_BxL)
    gt_len_B = jnp.clip(jnp.round(jnp.exp(log_len_B)), 1,
                        max_len).astype(jnp.int32)
    t_1xT = jnp.arange(1, max_len + 1, dtype=jnp.float32)[None]
    gt_counter_BxT = jnp.where(t_1xT <= gt_len_B[:, None],
                               t_1xT / gt_len_B[:, None], 0.0)

  def step(t, prev_Bx1xF, cache, inputs_BxTxF):
    if use_cache:
      out, cache = encdec.decode(prev_Bx1xF, enc_BxLxD, mask_BxL, lang_B,
                                 train=False, cache=cache, cache_index=t)
      frame_BxF = out[:, 0, :f]
    else:
      inputs_BxTxF = jax.lax.dynamic_update_slice(
          inputs_BxTxF, prev_Bx1xF, (0, t, 0))
      out, _ = encdec.decode(inputs_BxTxF, enc_BxLxD, mask_BxL, lang_B,
                             train=False)
      frame_BxF = jax.lax.dynamic_index_in_dim(out, t, 1, False)[:, :f]
    return frame_BxF, cache, inputs_BxTxF

  def body(c: _Carry) -> _Carry:
    frame_BxF, cache, inputs = step(c.t, c.prev_Bx1xF, c.cache, c.inputs)
    if fixed_length:
      frame_BxF = frame_BxF.at[:, -1].set(gt_counter_BxT[:, c.t])
      stop_B = c.t + 1 >= gt_len_B
    else:
      stop_B = frame_BxF[:, -1] >= threshold
    frames_BxTxF = jax.lax.dynamic_update_slice(
        c.frames_BxTxF,
        jnp.where(c.done_B[:, None], 0.0, frame_BxF)[:, None], (0, c.t, 0))
    len_B = jnp.where(~c.done_B & stop_B, c.t + 1, c.len_B)
    return _Carry(t=c.t + 1, prev_Bx1xF=frame_BxF[:, None], cache=cache,
                  inputs=inputs, frames_BxTxF=frames_BxTxF,
                  done_B=c.done_B | stop_B, len_B=len_B)

  def cond(c: _Carry):
    return (c.t < max_len) & ~c.done_B.all()

  done_B = jnp.zeros((b,), bool)
  len_B = jnp.full((b,), max_len, jnp.int32)
  if fixed_length:
    done_B = gt_len_B <= 0
    len_B = jnp.maximum(gt_len_B, 0)
  out = jax.lax.while_loop(cond, body, _Carry(
      t=jnp.int32(0), prev_Bx1xF=pose_decoder.start_frames(b, f),
      cache=dec.init_cache(b, max_len, enc_BxLxD) if use_cache else None,
      inputs=None if use_cache else jnp.zeros((b, max_len, f), jnp.float32),
      frames_BxTxF=jnp.zeros((b, max_len, f), jnp.float32), done_B=done_B,
      len_B=len_B))
  return out.frames_BxTxF, out.len_B


def _fit(x_BxT, n: int):
  """Pads or crops the time axis to n."""
  t = x_BxT.shape[1]
  if t >= n:
    return x_BxT[:, :n]
  return jnp.pad(x_BxT, ((0, 0), (0, n - t)))


def own_timing(cfg) -> str:
  """The model's own timing from `generate.length`: "auto" (the default)
  is "length" for a model with a length head, else "counter"."""
  mode = cfg.generate.length
  if mode == "auto":
    return "length" if cfg.model.length_head else "counter"
  if mode not in ("counter", "length"):
    raise ValueError(f"generate.length must be auto, counter or length, "
                     f"got {mode!r}")
  check_length_head(cfg, mode)
  return mode


def check_length_head(cfg, length_mode: str) -> None:
  if length_mode == "length" and not cfg.model.length_head:
    raise ValueError("length timing needs a model trained with a length "
                     "head (model.length_head=True)")
