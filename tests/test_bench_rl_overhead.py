"""experiments/bench_rl_overhead.py: its cases are valid trainer configs and
its step-time reading leaves out the compilation window."""

import json

import pytest

from experiments import bench_rl_overhead as bench
from signllm_jax import config as config_lib
from signllm_jax import rl


@pytest.mark.parametrize("name", list(bench.CASES))
def test_cases_are_valid_configs(name):
  overrides = [f[len("--config."):] for f in bench.CASES[name]]
  cfg = config_lib.load_config("experiments/ablation_rl.py:steps=40",
                               overrides)
  rl.validate(cfg.rl)
  fresh = rl.fresh_batch_size(cfg.data.batch_size, cfg.rl)
  replayed = (rl.replay_batch_size(cfg.data.batch_size, cfg.rl)
              if cfg.rl.mode == "rl_plc" else 0)
  expected = {"mse": (16, 0), "rl": (16, 0), "rl_plc (append)": (16, 4),
              "rl_plc (replace)": (12, 4)}[name]
  assert (fresh, replayed) == expected


def test_step_times_skip_the_compilation_window(tmp_path):
  path = tmp_path / "metrics.jsonl"
  records = [{"step": 25, "train/step_time_s": 5.0},
             {"step": 40, "dev/mse": 0.3},
             {"step": 50, "train/step_time_s": 0.2},
             {"step": 75, "train/step_time_s": 0.3}]
  path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
  assert bench.step_times(path) == [0.2, 0.3]


def test_too_few_windows_is_a_clear_error(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text(json.dumps({"step": 25, "train/step_time_s": 5.0}) + "\n")
  with pytest.raises(SystemExit, match="raise --steps"):
    bench.step_times(path)
