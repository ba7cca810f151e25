"""XLA-compiled benchmarks: train-step and generation throughput, compile time,
peak memory (XLA memory analysis), FLOPs (XLA cost analysis) and MFU.

Synthetic batches of the requested shape, so no dataset is needed; timings are
medians after warm-up, with `block_until_ready`.
"""

import json
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from signllm_jax import languages
from signllm_jax import optim
from signllm_jax import rl
from signllm_jax import sharding
from signllm_jax import skeleton
from signllm_jax import steps
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


def _timeit(fn, n: int) -> list[float]:
  times = []
  for _ in range(n):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
  return times


def bench_train(cfg, *, batch: int, frames: int, steps_n: int) -> dict[str, Any]:
  """Times the real sharded train step (same code path as `signllm train`)."""
  mesh = sharding.make_mesh(cfg.mesh)
  rules = sharding.logical_rules(cfg.mesh)
  vocab = variants.get_variant(cfg.model.variant)["vocab_size"]
  tx = optim.make_optimizer(cfg.optim, 1000)

  def create():
    model = signllm.build_model(cfg.model, vocab_size=vocab,
                                num_langs=languages.NUM_LANGS,
                                rngs=nnx.Rngs(0))
    return nnx.state((model, nnx.Optimizer(model, tx, wrt=nnx.Param)))

  abstract = jax.eval_shape(create)
  state_sh = sharding.state_shardings(abstract, mesh, rules)
  model_abs = nnx.eval_shape(lambda: signllm.build_model(
      cfg.model, vocab_size=vocab, num_langs=languages.NUM_LANGS,
      rngs=nnx.Rngs(0)))
  graphdef, _ = nnx.split((model_abs, nnx.Optimizer(model_abs, tx,
                                                    wrt=nnx.Param)))
  t0 = time.perf_counter()
  state = jax.jit(create, out_shardings=state_sh)()
  jax.block_until_ready(state)
  init_s = time.perf_counter() - t0
  host_batch = synthetic_batch(batch=batch, frames=frames, text_len=20,
                               gloss_len=24, vocab=vocab)
  dev_batch = sharding.shard_host_batch(host_batch, mesh)
  group_mask = None
  if cfg.model.mode == "mlsf" and not cfg.model.shared_multilingual:
    group_mask = steps.group_leaf_mask(state, languages.NUM_LANGS)
  rl_state = rl.init_state(cfg.rl, example_batch=dev_batch, mesh=mesh)
  step_fn = jax.jit(steps.make_train_step(
      graphdef, model_cfg=cfg.model, rl_cfg=cfg.rl, group_mask=group_mask,
      plateau=cfg.optim.schedule == "plateau"), donate_argnums=(0, 1))
  t0 = time.perf_counter()
  lowered = step_fn.lower(state, rl_state, dev_batch)
  compiled = lowered.compile()
  compile_s = time.perf_counter() - t0
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get("flops", 0.0)) if cost else 0.0
  mem = compiled.memory_analysis()
  peak_bytes = None
  if mem is not None:
    peak_bytes = int(getattr(mem, "temp_size_in_bytes", 0)
                     + getattr(mem, "argument_size_in_bytes", 0)
                     + getattr(mem, "output_size_in_bytes", 0)
                     - getattr(mem, "alias_size_in_bytes", 0))
  carry = {"state": state, "rl": rl_state}

  def one():
    carry["state"], carry["rl"], m = compiled(carry["state"], carry["rl"],
                                              dev_batch)
    return m["loss"]

  _timeit(one, 2)  # warm-up
  times = _timeit(one, steps_n)
  med = statistics.median(times)
  n_params = sum(x.size for x in jax.tree.leaves(
      nnx.state(model_abs, nnx.Param)))
  dtype = cfg.model.compute_dtype
  peak = device_peak_flops(jax.devices()[0], dtype)
  per_device_flops = flops  # XLA reports the per-device (SPMD) program
  return {
      "what": "train_step", "variant": cfg.model.variant,
      "mode": cfg.model.mode, "batch": batch, "frames": frames,
      "dtype": dtype, "devices": jax.device_count(),
      "device_kind": jax.devices()[0].device_kind,
      "params_total": int(n_params),
      "init_s": init_s, "compile_s": compile_s,
      "step_s_median": med, "step_s_all": times,
      "examples_per_s": batch / med, "frames_per_s": batch * frames / med,
      "flops_per_step_per_device": per_device_flops,
      "achieved_flops_per_s_per_device": per_device_flops / med,
      "peak_flops_per_device": peak,
      "mfu": (per_device_flops / med / peak) if peak else None,
      "peak_memory_bytes_per_device": peak_bytes,
  }


def summary_line(result: dict) -> str:
  parts = [f"{result['what']} {result.get('variant', '')}",
           f"B={result['batch']} T={result['frames']}",
           f"{result['frames_per_s']:.0f} frames/s",
           f"{result['step_s_median'] * 1e3:.1f} ms/step"]
  if result.get("compile_s") is not None:
    parts.append(f"compile {result['compile_s']:.1f}s")
  if result.get("peak_memory_bytes_per_device"):
    parts.append(f"peak {result['peak_memory_bytes_per_device'] / 2**20:.0f} MiB")
  if result.get("mfu"):
    parts.append(f"MFU {100 * result['mfu']:.1f}%")
  return " | ".join(parts)


def to_json(result: dict) -> str:
  return json.dumps(result, indent=2, default=float)
