"""bench: train-step and generation benchmarks on the tiny model."""

import json

import pytest

import jax
from flax import nnx

from signllm_jax import bench
from signllm_jax import config as config_lib
from signllm_jax import state as state_lib
from signllm_jax.model import variants


def test_bench_train_reports_the_compiled_step():
  cfg = config_lib.load_config("experiments/mlsf.py:smoke")
  r = bench.bench_train(cfg, batch=8, frames=16, steps_n=2)
  assert r["what"] == "train_step" and r["mode"] == cfg.model.mode
  assert len(r["step_s_all"]) == 2 and r["step_s_median"] > 0
  assert r["frames_per_s"] == pytest.approx(8 * 16 / r["step_s_median"])
  assert r["flops_per_step_per_device"] > 1e5
  assert r["peak_memory_bytes_per_device"] > 0
  assert r["rss_peak_bytes"] >= r["rss_bytes"] > 0
  assert r["compile_s"] > 0 and r["devices"] == 8
  assert (r["fresh_rows"], r["replayed_rows"]) == (8, 0)  # mode mse
  # The trainer's model: its parameter count, from state.model_def.
  _, params = state_lib.model_def(cfg.model, vocab_size=variants.get_variant(
      cfg.model.variant)["vocab_size"])
  assert r["params_total"] == sum(
      x.size for x in jax.tree.leaves(params.filter(nnx.Param)))
  json.loads(bench.to_json(r))
  assert "train_step smoke | B=8 T=16" in bench.summary_line(r)


def test_bench_generate_cached_and_full_recompute_exact_frames():
  cfg = config_lib.load_config("experiments/mlsf.py:smoke")
  results = bench.bench_generate(cfg, batch=2, frames=12, repeats=2)
  assert [r["decoder"] for r in results] == ["kv_cache", "full_recompute"]
  for r in results:
    # Oracle timing: every sequence ran exactly `frames` frames (checked
    # inside bench_generate against the returned lengths).
    assert r["length_mode"] == "oracle"
    assert (r["batch"], r["frames"]) == (2, 12)
    assert len(r["step_s_all"]) == 2
    assert r["frames_per_s"] == pytest.approx(2 * 12 / r["step_s_median"])
    assert r["compile_s"] > 0
    line = bench.summary_line(r)
    assert f"generate ({r['decoder']}) smoke" in line and "ms/call" in line


def test_bench_generate_time_budget_stops_after_one_timed_call():
  cfg = config_lib.load_config("experiments/mlsf.py:smoke")
  (r,) = bench.bench_generate(cfg, batch=1, frames=4, repeats=5,
                              full_recompute=False, max_timed_s=0.0)
  assert len(r["step_s_all"]) == 1


def test_bench_generate_token_decoder_runs_a_quarter_of_the_steps():
  cfg = config_lib.load_config("experiments/mlsf_tokens_cpu.py:smoke")
  (r,) = bench.bench_generate(cfg, batch=2, frames=14, repeats=1)
  # 14 frames at 4x downsampling: 4 token steps, trimmed to 14 frames
  # (bench_generate checks the returned lengths).
  assert r["decoder"] == "tokens_kv_cache" and r["decode_steps"] == 4
  assert r["frames_per_s"] == pytest.approx(2 * 14 / r["step_s_median"])
  assert "generate (tokens_kv_cache) smoke" in bench.summary_line(r)
