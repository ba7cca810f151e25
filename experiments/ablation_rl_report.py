"""The RL / PLC ablation table from a finished `signllm sweep` folder.

  python experiments/ablation_rl_report.py runs/ablation_rl \
      [--backtranslation BT_WORKDIR] [--max_examples 64] [--threshold X]

Per run (read from its metrics.jsonl and overrides.json):
  * steps and training wall-clock to reach the fixed dev DTW-MJE threshold
    (free-running generation, `dev/gen_dtw_mje`; wall-clock = the logged
    step times, validation and checkpointing excluded);
  * median step time (`train/step_time_s`) and its overhead over the mse
    runs' median;
  * final dev DTW-MJE, and final test back-translation BLEU-4 and DTW-MJE
    from `signllm evaluate` (cached in the run folder as eval_test.json).
The threshold, unless given, is fixed before looking at RL: the mean over
the mse runs of their dev DTW-MJE at half of training. Writes
ablation_rl.json and ablation_rl.md into the sweep folder and prints the
Markdown.
"""

import argparse
import json
import math
import pathlib
import statistics
import sys
from typing import Any, Sequence

if __package__ in (None, ""):
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

# pylint: disable=g-import-not-at-top
from signllm_jax import sweep as sweep_lib

GEN_KEY = "dev/gen_dtw_mje"


def curve(records: Sequence[dict], key: str) -> list[tuple[int, float]]:
  """(step, value) of `key`, in step order (the last value of a step wins)."""
  values = {int(r["step"]): float(r[key]) for r in records if key in r}
  return sorted(values.items())


def train_seconds(records: Sequence[dict]) -> list[tuple[int, float]]:
  """(step, cumulative training seconds) at each logged train record.

  Each record's step_time_s covers the steps since the previous record.
  """
  out, total, prev = [], 0.0, 0
  for step, dt in curve(records, "train/step_time_s"):
    total += dt * (step - prev)
    prev = step
    out.append((step, total))
  return out


def first_reach(points: Sequence[tuple[int, float]], threshold: float
                ) -> int | None:
  """The first step whose value is <= threshold (None: never)."""
  for step, value in points:
    if value <= threshold:
      return step
  return None


def seconds_at(seconds: Sequence[tuple[int, float]], step: int
               ) -> float | None:
  """Training seconds at `step` (linear between logged records)."""
  prev_s, prev_t = 0, 0.0
  for s, t in seconds:
    if s >= step:
      frac = (step - prev_s) / max(s - prev_s, 1)
      return prev_t + frac * (t - prev_t)
    prev_s, prev_t = s, t
  return None


def value_near(points: Sequence[tuple[int, float]], step: int) -> float:
  """The value logged at the step nearest to `step`."""
  if not points:
    raise ValueError("no values logged")
  return min(points, key=lambda p: (abs(p[0] - step), p[0]))[1]


def default_threshold(runs: Sequence[dict]) -> float:
  """Mean over the mse runs of dev DTW-MJE at half of their training."""
  values = [value_near(r["gen_curve"], r["steps"] // 2)
            for r in runs if r["mode"] == "mse" and r["gen_curve"]]
  if not values:
    raise ValueError("no mse run with a dev/gen_dtw_mje curve: pass "
                     "--threshold")
  return float(statistics.mean(values))


def load_run(run_dir: pathlib.Path) -> dict[str, Any]:
  point = json.loads((run_dir / sweep_lib.OVERRIDES_FILE).read_text()
                     )["point"]
  records = sweep_lib.read_metrics(run_dir / "metrics.jsonl")
  cfg = json.loads((run_dir / "config.json").read_text())
  step_times = [v for _, v in curve(records, "train/step_time_s")[1:]]
  gen = curve(records, GEN_KEY)
  return {
      "name": run_dir.name, "dir": str(run_dir),
      "mode": point.get("rl.mode", cfg["rl"]["mode"]),
      "eta": float(point.get("rl.eta", cfg["rl"]["eta"])),
      "seed": int(point.get("seed", cfg["seed"])),
      "steps": int(cfg["train"]["steps"]),
      "last_step": max((int(r["step"]) for r in records), default=0),
      "gen_curve": gen,
      "seconds": train_seconds(records),
      # The first window includes compilation: left out of the median.
      "step_time_s": statistics.median(step_times) if step_times else None,
      "final_dev_dtw_mje": gen[-1][1] if gen else None,
  }


def evaluate_run(run: dict, *, backtranslation: str, max_examples: int
                 ) -> dict[str, float]:
  """Test BLEU-4 / DTW-MJE of the model (cached in eval_test.json)."""
  path = pathlib.Path(run["dir"]) / "eval_test.json"
  if not path.is_file():
    from signllm_jax.evaluate import run as eval_run
    eval_run.evaluate_workdir(run["dir"], split="test",
                              max_examples=max_examples,
                              backtranslation=backtranslation,
                              overrides=("evaluate.render_samples=0",),
                              progress=False)
  report = json.loads(path.read_text())
  bleu, mje = [], []
  for rows in report["languages"].values():
    model = next(iter(rows.values()))  # the first row: predicted timing
    bleu.append(model.get("bleu4", math.nan))
    mje.append(model["dtw_mje"])
  return {"test_bleu4": float(statistics.mean(bleu)),
          "test_dtw_mje": float(statistics.mean(mje))}


def add_reach(runs: list[dict], threshold: float) -> None:
  mse_times = [r["step_time_s"] for r in runs
               if r["mode"] == "mse" and r["step_time_s"]]
  base = statistics.median(mse_times) if mse_times else None
  for r in runs:
    step = first_reach(r["gen_curve"], threshold)
    r["steps_to_threshold"] = step
    r["seconds_to_threshold"] = (None if step is None
                                 else seconds_at(r["seconds"], step))
    r["step_overhead"] = (r["step_time_s"] / base - 1.0
                          if base and r["step_time_s"] else None)


def _mean_sd(values: Sequence[float | None]) -> str:
  vals = [v for v in values if v is not None and not math.isnan(v)]
  missing = len(values) - len(vals)
  if not vals:
    return "not reached" if missing else "-"
  text = f"{statistics.mean(vals):.4g}"
  if len(vals) > 1:
    text += f" ± {statistics.stdev(vals):.2g}"
  if missing:
    text += f" ({missing}/{len(values)} not reached)"
  return text


def table(runs: Sequence[dict], threshold: float) -> str:
  groups: dict[tuple[str, float], list[dict]] = {}
  for r in runs:
    eta = r["eta"] if r["mode"] == "rl_plc" else None
    groups.setdefault((r["mode"], eta), []).append(r)
  head = ["mode", "eta", "seeds", f"steps to dev DTW-MJE <= {threshold:.4f}",
          "train s to it", "ms/step", "step overhead vs mse",
          "final dev DTW-MJE", "test DTW-MJE", "test BLEU-4"]
  lines = ["| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
  order = {"mse": 0, "rl": 1, "rl_plc": 2}
  for (mode, eta), rs in sorted(groups.items(),
                                key=lambda kv: (order.get(kv[0][0], 9),
                                                kv[0][1] or 0)):
    cells = [mode, "-" if eta is None else f"{eta:g}", str(len(rs)),
             _mean_sd([r["steps_to_threshold"] for r in rs]),
             _mean_sd([r["seconds_to_threshold"] for r in rs]),
             _mean_sd([1e3 * r["step_time_s"] if r["step_time_s"] else None
                       for r in rs]),
             _mean_sd([None if r["step_overhead"] is None
                       else 100 * r["step_overhead"] for r in rs]) + " %",
             _mean_sd([r["final_dev_dtw_mje"] for r in rs]),
             _mean_sd([r.get("test_dtw_mje") for r in rs]),
             _mean_sd([r.get("test_bleu4") for r in rs])]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("sweep_dir")
  parser.add_argument("--backtranslation", default="",
                      help="a back-translator workdir (signllm train "
                           "--config experiments/backtranslation.py:cpu); "
                           "empty: no BLEU")
  parser.add_argument("--max_examples", type=int, default=64,
                      help="test examples per language for BLEU / DTW")
  parser.add_argument("--threshold", type=float, default=None)
  parser.add_argument("--no_eval", action="store_true",
                      help="skip the test evaluation (no BLEU column)")
  args = parser.parse_args(argv)
  sweep_dir = pathlib.Path(args.sweep_dir)
  run_dirs = sorted(p.parent for p in sweep_dir.glob(
      f"*/{sweep_lib.OVERRIDES_FILE}") if (p.parent / "metrics.jsonl"
                                           ).is_file())
  if not run_dirs:
    print(f"error: no sweep runs with metrics under {sweep_dir}",
          file=sys.stderr)
    return 2
  runs = [load_run(d) for d in run_dirs]
  unfinished = [r["name"] for r in runs if r["last_step"] < r["steps"]]
  if unfinished:
    print(f"warning: unfinished runs (their numbers are partial): "
          f"{unfinished}", file=sys.stderr)
  threshold = (args.threshold if args.threshold is not None
               else default_threshold(runs))
  add_reach(runs, threshold)
  if not args.no_eval:
    for i, r in enumerate(runs):
      print(f"[{i + 1}/{len(runs)}] evaluating {r['name']}", file=sys.stderr)
      r.update(evaluate_run(r, backtranslation=args.backtranslation,
                            max_examples=args.max_examples))
  md = table(runs, threshold)
  out = {"threshold": threshold, "runs": runs,
         "backtranslation": None if args.no_eval else args.backtranslation,
         "max_examples": args.max_examples}
  (sweep_dir / "ablation_rl.json").write_text(
      json.dumps(out, indent=2, default=str) + "\n")
  (sweep_dir / "ablation_rl.md").write_text(md + "\n")
  print(md)
  return 0


if __name__ == "__main__":
  sys.exit(main())
