"""XLA-compiled benchmarks: train-step and generation throughput, compile time,
peak memory (XLA memory analysis and process RSS), FLOPs (XLA cost analysis)
and MFU.

Synthetic batches of the requested shape, so no dataset is needed; timings are
medians after warm-up, with `block_until_ready`. The machine load (1-minute
load average) is recorded before and after each measurement: on a shared
machine compare only paired runs.
"""

import json
import os
import resource
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from signllm_jax import config as config_lib
from signllm_jax import languages
from signllm_jax import sharding
from signllm_jax import skeleton
from signllm_jax import state as state_lib
from signllm_jax.generate import pose_decode
from signllm_jax.model import signllm
from signllm_jax.model import variants

# Dense peak FLOP/s per device (vendor figures), for model FLOPs utilisation.
PEAK_FLOPS = {
    ("gpu", "H100", "bfloat16"): 989e12,
    ("gpu", "H100", "float32"): 67e12,   # non-tensor-core fp32; TF32 is 494e12
    ("gpu", "H200", "bfloat16"): 989e12,
    ("gpu", "H200", "float32"): 67e12,
    ("gpu", "A100", "bfloat16"): 312e12,
    ("gpu", "A100", "float32"): 19.5e12,
    ("tpu", "v4", "bfloat16"): 275e12,
    ("tpu", "v5 lite", "bfloat16"): 197e12,
    ("tpu", "v5e", "bfloat16"): 197e12,
    ("tpu", "v5p", "bfloat16"): 459e12,
    ("tpu", "v6 lite", "bfloat16"): 918e12,
}


def device_peak_flops(device: jax.Device, dtype: str) -> float | None:
  kind = getattr(device, "device_kind", "")
  for (platform, name, dt), peak in PEAK_FLOPS.items():
    if device.platform == platform and name.lower() in kind.lower() \
        and dt == dtype:
      return peak
  return None


def synthetic_batch(*, batch: int, frames: int, text_len: int, gloss_len: int,
                    vocab: int, lang: int = 0, seed: int = 0) -> dict:
  rng = np.random.default_rng(seed)
  lengths = np.full((batch,), frames, np.int32)
  pose = rng.normal(size=(batch, frames, skeleton.FRAME_DIM)).astype(np.float32)
  pose[..., -1] = (np.arange(frames) + 1) / frames
  return {
      "text": rng.integers(4, vocab, (batch, text_len), dtype=np.int32),
      "text_mask": np.ones((batch, text_len), bool),
      "prompt": rng.integers(4, vocab, (batch, text_len * 2), dtype=np.int32),
      "prompt_mask": np.ones((batch, text_len * 2), bool),
      "lang_gloss": rng.integers(4, vocab, (batch, gloss_len), dtype=np.int32),
      "lang_gloss_mask": np.ones((batch, gloss_len), bool),
      "lang": np.full((batch,), lang, np.int32),
      "pose": pose,
      "pose_mask": np.ones((batch, frames), bool),
      "length": lengths,
      "idx": np.arange(batch, dtype=np.int32),
      "example_mask": np.ones((batch,), bool),
  }


def _timeit(fn, n: int, cpu: list[float] | None = None) -> list[float]:
  """Wall seconds of n calls; appends each call's process CPU seconds to cpu.

  CPU seconds (all threads) barely change when other processes compete for
  the cores, unlike wall time: on a shared machine they are the steadier
  figure (wall ~ cpu / cores when the program keeps every core busy).
  """
  times = []
  for _ in range(n):
    c0, t0 = time.process_time(), time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
    if cpu is not None:
      cpu.append(time.process_time() - c0)
  return times


def _peak_bytes(compiled) -> int | None:
  """Live bytes of one call from XLA's memory analysis (per device)."""
  mem = compiled.memory_analysis()
  if mem is None:
    return None
  return int(getattr(mem, "temp_size_in_bytes", 0)
             + getattr(mem, "argument_size_in_bytes", 0)
             + getattr(mem, "output_size_in_bytes", 0)
             - getattr(mem, "alias_size_in_bytes", 0))


def _flops(compiled) -> float | None:
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost["flops"]) if cost and "flops" in cost else None


def process_memory() -> dict[str, int]:
  """Current and peak resident set size of this process (Linux)."""
  out = {"rss_peak_bytes": resource.getrusage(
      resource.RUSAGE_SELF).ru_maxrss * 1024}
  try:
    with open("/proc/self/statm") as f:
      out["rss_bytes"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
  except OSError:
    return out
  # The kernel updates the high-water mark lazily: it can trail the current.
  out["rss_peak_bytes"] = max(out["rss_peak_bytes"], out["rss_bytes"])
  return out


def _load() -> float | None:
  try:
    return os.getloadavg()[0]
  except OSError:
    return None


def bench_train(cfg, *, batch: int, frames: int,
                steps_n: int) -> dict[str, Any]:
  """Times the real sharded train step (same code path as `signllm train`)."""
  # The step's replayed rows follow data.batch_size, and the replay stores
  # rows at data.max_frames: bench that batch, fit these frames.
  cfg = config_lib.apply_overrides(cfg, [
      f"data.batch_size={batch}",
      f"data.max_frames={max(frames, int(cfg.data.max_frames))}"])
  mesh = sharding.make_mesh(cfg.mesh)
  vocab = variants.get_variant(cfg.model.variant)["vocab_size"]
  sdef = state_lib.define(cfg, vocab_size=vocab, mesh=mesh, total_steps=1000)
  t0 = time.perf_counter()
  state = state_lib.init(sdef)
  jax.block_until_ready(state)
  init_s = time.perf_counter() - t0
  # As the trainer: rl.replay_mix "replace" serves fewer fresh rows.
  fresh, num_replay = sdef.fresh_rows, sdef.replay_rows
  host_batch = synthetic_batch(batch=fresh, frames=frames, text_len=20,
                               gloss_len=24, vocab=vocab)
  dev_batch = sharding.shard_host_batch(host_batch, mesh)
  rl_abs = state_lib.abstract_rl_state(sdef, dev_batch)
  rl_state = state_lib.init_rl_state(sdef, dev_batch)
  step_fn = state_lib.train_step(sdef, rl_abs)
  t0 = time.perf_counter()
  lowered = step_fn.lower(state, rl_state, dev_batch)
  compiled = lowered.compile()
  compile_s = time.perf_counter() - t0
  flops = _flops(compiled) or 0.0
  peak_bytes = _peak_bytes(compiled)
  load_before = _load()
  carry = {"state": state, "rl": rl_state}

  def one():
    carry["state"], carry["rl"], m = compiled(carry["state"], carry["rl"],
                                              dev_batch)
    return m["loss"]

  _timeit(one, 2)  # warm-up
  cpu: list[float] = []
  times = _timeit(one, steps_n, cpu)
  med = statistics.median(times)
  load_after = _load()
  n_params = sum(x.size for x in jax.tree.leaves(
      sdef.abstract[0].filter(nnx.Param)))
  dtype = cfg.model.compute_dtype
  peak = device_peak_flops(jax.devices()[0], dtype)
  per_device_flops = flops  # XLA reports the per-device (SPMD) program
  return {
      "what": "train_step", "variant": cfg.model.variant,
      "mode": cfg.model.mode, "batch": batch, "frames": frames,
      "rl_mode": cfg.rl.mode, "fresh_rows": fresh, "replayed_rows": num_replay,
      "dtype": dtype, "devices": jax.device_count(),
      "device_kind": jax.devices()[0].device_kind,
      "params_total": int(n_params),
      "init_s": init_s, "compile_s": compile_s,
      "step_s_median": med, "step_s_min": min(times), "step_s_all": times,
      "cpu_s_median": statistics.median(cpu),
      "examples_per_s": batch / med, "frames_per_s": batch * frames / med,
      "flops_per_step_per_device": per_device_flops,
      "achieved_flops_per_s_per_device": per_device_flops / med,
      "peak_flops_per_device": peak,
      "mfu": (per_device_flops / med / peak) if peak else None,
      "peak_memory_bytes_per_device": peak_bytes,
      **process_memory(),
      "load_avg_1min": [load_before, load_after],
  }


def bench_generate(cfg, *, batch: int, frames: int, repeats: int = 3,
                   full_recompute: bool = True,
                   max_timed_s: float = 60.0) -> list[dict[str, Any]]:
  """Greedy pose generation, KV-cached and full re-compute (PT's cost model).

  Exactly `frames` frames per sequence: oracle timing (`length_mode="oracle"`
  with every length = frames), so the predicted counter cannot stop a
  sequence early, as in PT's released decoder. One warm-up call, then up to
  `repeats` timed calls (fewer once `max_timed_s` is spent, at least one).
  The model is unsharded on the default device. With
  `model.pose_decoder="tokens"` the decoder runs one step per
  `tokenizer_downsample` frames (KV-cached only; a random frozen tokenizer
  detokenizes, which costs what a trained one does).
  """
  vocab = variants.get_variant(cfg.model.variant)["vocab_size"]
  model = signllm.build_model(cfg.model, vocab_size=vocab,
                              num_langs=languages.NUM_LANGS, rngs=nnx.Rngs(0))
  graphdef, state = nnx.split(model)
  host = synthetic_batch(batch=batch, frames=frames, text_len=20,
                         gloss_len=24, vocab=vocab)
  keys = ("text", "text_mask", "lang_gloss", "lang_gloss_mask", "lang",
          "pose", "length")
  dev_batch = {k: jnp.asarray(host[k]) for k in keys}
  results = []
  tokens = cfg.model.pose_decoder == "tokens"
  full_recompute = full_recompute and not tokens
  for use_cache in ((True, False) if full_recompute else (True,)):
    def gen(state, batch, use_cache=use_cache):
      out = pose_decode.generate_pose(
          nnx.merge(graphdef, state), batch, max_len=frames,
          length_mode="oracle", use_cache=use_cache)
      return out["pose"], out["lengths"]

    t0 = time.perf_counter()
    compiled = jax.jit(gen).lower(state, dev_batch).compile()
    compile_s = time.perf_counter() - t0
    load_before = _load()
    _, lengths = jax.block_until_ready(compiled(state, dev_batch))
    if not (np.asarray(lengths) == frames).all():
      raise AssertionError(f"generated lengths {np.asarray(lengths)} != "
                           f"{frames}")
    times: list[float] = []
    cpu: list[float] = []
    while len(times) < repeats and (not times or sum(times) < max_timed_s):
      times += _timeit(lambda: compiled(state, dev_batch), 1, cpu)
    med = statistics.median(times)
    results.append({
        "what": "generate", "variant": cfg.model.variant,
        "mode": cfg.model.mode,
        "decoder": ("tokens_kv_cache" if tokens else "kv_cache" if use_cache
                    else "full_recompute"),
        "decode_steps": (-(-frames // cfg.model.tokenizer_downsample)
                         if tokens else frames),
        "length_mode": "oracle",
        "batch": batch, "frames": frames, "dtype": cfg.model.compute_dtype,
        "devices": 1, "device_kind": jax.devices()[0].device_kind,
        "compile_s": compile_s, "step_s_median": med,
        "step_s_min": min(times), "step_s_all": times,
        "cpu_s_median": statistics.median(cpu),
        "frames_per_s": batch * frames / med,
        "sequences_per_s": batch / med,
        "peak_memory_bytes_per_device": _peak_bytes(compiled),
        **process_memory(),
        "load_avg_1min": [load_before, _load()],
    })
  return results


def summary_line(result: dict) -> str:
  what = result["what"]
  if result.get("decoder"):
    what += f" ({result['decoder']})"
  parts = [f"{what} {result.get('variant', '')}",
           f"B={result['batch']} T={result['frames']}",
           f"{result['frames_per_s']:.0f} frames/s",
           f"{result['step_s_median'] * 1e3:.1f} ms/"
           + ("step" if result["what"] == "train_step" else "call")]
  if result.get("compile_s") is not None:
    parts.append(f"compile {result['compile_s']:.1f}s")
  if result.get("peak_memory_bytes_per_device"):
    parts.append(f"XLA peak "
                 f"{result['peak_memory_bytes_per_device'] / 2**20:.0f} MiB")
  if result.get("rss_peak_bytes"):
    parts.append(f"RSS peak {result['rss_peak_bytes'] / 2**30:.2f} GiB")
  if result.get("mfu"):
    parts.append(f"MFU {100 * result['mfu']:.1f}%")
  return " | ".join(parts)


def to_json(result: dict) -> str:
  return json.dumps(result, indent=2, default=float)
