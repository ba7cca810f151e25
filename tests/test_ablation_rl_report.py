"""Tests for experiments/ablation_rl_report.py (the ablation table's maths)
on hand-made metrics: reach steps, wall-clock, threshold, overhead."""

import json

import pytest

from experiments import ablation_rl
from experiments import ablation_rl_report as rep
from signllm_jax import sweep as sweep_lib


def _records(gen, step_time):
  recs = []
  for step in range(50, 401, 50):
    recs.append({"step": step, "train/loss": 1.0,
                 "train/step_time_s": 9.0 if step == 50 else step_time})
  for step, v in gen:
    recs.append({"step": step, "dev/gen_dtw_mje": v})
  return recs


def _write_run(root, name, mode, eta, seed, gen, step_time):
  d = root / name
  d.mkdir()
  (d / sweep_lib.OVERRIDES_FILE).write_text(json.dumps(
      {"point": {"rl.mode": mode, "rl.eta": eta, "seed": seed}}))
  (d / "config.json").write_text(json.dumps(
      {"rl": {"mode": mode, "eta": eta}, "seed": seed,
       "train": {"steps": 400}}))
  (d / "metrics.jsonl").write_text(
      "\n".join(json.dumps(r) for r in _records(gen, step_time)) + "\n")
  return d


def test_reach_seconds_and_threshold(tmp_path):
  _write_run(tmp_path, "00_mse", "mse", 1.0, 0,
             [(100, 0.30), (200, 0.20), (300, 0.15), (400, 0.12)], 0.2)
  _write_run(tmp_path, "01_plc", "rl_plc", 2.0, 0,
             [(100, 0.25), (200, 0.18), (300, 0.14), (400, 0.11)], 0.25)
  _write_run(tmp_path, "02_rl", "rl", 1.0, 0,
             [(100, 0.40), (200, 0.35), (300, 0.30), (400, 0.25)], 0.2)
  runs = [rep.load_run(d) for d in sorted(tmp_path.iterdir())]
  # mse at half of training (step 200) = 0.20.
  threshold = rep.default_threshold(runs)
  assert threshold == pytest.approx(0.20)
  rep.add_reach(runs, threshold)
  by = {r["mode"]: r for r in runs}
  assert by["mse"]["steps_to_threshold"] == 200
  assert by["rl_plc"]["steps_to_threshold"] == 200  # 0.18 <= 0.20 at 200
  assert by["rl"]["steps_to_threshold"] is None
  # The first window (compilation, 9 s/step) counts in the wall-clock but
  # not in the median step time.
  assert by["mse"]["seconds_to_threshold"] == pytest.approx(
      50 * 9.0 + 150 * 0.2)
  assert by["mse"]["step_time_s"] == pytest.approx(0.2)
  assert by["rl_plc"]["step_overhead"] == pytest.approx(0.25)
  md = rep.table(runs, threshold)
  assert "not reached" in md and "| rl_plc | 2 | 1 | 200 |" in md


def test_main_without_runs_is_an_error(tmp_path, capsys):
  assert rep.main([str(tmp_path), "--no_eval"]) == 2
  assert "no sweep runs" in capsys.readouterr().err


def test_threshold_needs_mse_runs():
  with pytest.raises(ValueError, match="--threshold"):
    rep.default_threshold([{"mode": "rl", "gen_curve": [(1, 0.1)],
                            "steps": 2}])


def test_sweep_has_15_points_and_logs_the_generated_metric():
  points = []
  ablation_rl.sweep(lambda **kw: points.append(kw))
  assert len(points) == 15
  assert sorted({p["rl.eta"] for p in points if p["rl.mode"] == "rl_plc"}
                ) == [0.5, 1.0, 2.0]
  cfg = ablation_rl.get_config()
  assert cfg.train.gen_eval_every == cfg.train.steps // 10
  assert cfg.data.langs == "ASL"
