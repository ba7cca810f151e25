"""Step-time overhead of the RL loss and the Priority Learning Channel over
plain MSE, measured in the real trainer (frame buckets, the data pipeline,
replay sampling and writes), not in a fixed-shape micro-benchmark.

COMMAND (a quiet machine; each run trains the ablation's model):
  python experiments/bench_rl_overhead.py --workdir /tmp/rl_overhead \
      --data_dir D --steps 400 --rounds 2 [--out results.json]

For every round, every case (mse, rl, rl_plc with replay_mix append and
replace) runs `signllm train --config experiments/ablation_rl.py:steps=N`
with validation, generation checks and intermediate checkpoints off, in a
fresh workdir, one after another (interleaved, so a load change hits every
case alike). Per run: the median of the trainer's logged
`train/step_time_s` windows, the first window (compilation) left out. Per
case: the median over rounds; overhead = case / mse - 1. "rows" is what the
step trains on: fresh rows plus replayed rows.
"""

import argparse
import json
import pathlib
import shutil
import statistics
import subprocess
import sys

if __package__ in (None, ""):
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

# pylint: disable=g-import-not-at-top
from experiments import ablation_rl_report
from signllm_jax import sweep as sweep_lib

CASES = {
    "mse": ["--config.rl.mode=mse"],
    "rl": ["--config.rl.mode=rl"],
    "rl_plc (append)": ["--config.rl.mode=rl_plc",
                        "--config.rl.replay_mix=append"],
    "rl_plc (replace)": ["--config.rl.mode=rl_plc",
                         "--config.rl.replay_mix=replace"],
}


def step_times(metrics_path: pathlib.Path) -> list[float]:
  """The logged step-time windows of a run, compilation window excluded."""
  records = sweep_lib.read_metrics(metrics_path)
  times = [t for _, t in ablation_rl_report.curve(records,
                                                   "train/step_time_s")]
  if len(times) < 2:
    raise SystemExit(f"{metrics_path}: fewer than 2 step-time windows; "
                     "raise --steps")
  return times[1:]


def run_case(name: str, flags: list[str], *, workdir: pathlib.Path,
             steps: int, data_dir: str | None) -> float:
  if workdir.exists():
    shutil.rmtree(workdir)
  cmd = [sys.executable, "-m", "signllm_jax.cli", "train",
         "--config", f"experiments/ablation_rl.py:steps={steps}",
         "--workdir", str(workdir),
         "--config.train.gen_eval_every=0", "--config.train.eval_every=0",
         f"--config.train.ckpt_every={steps}", "--config.train.log_every=25",
         *flags]
  if data_dir:
    cmd.append(f"--config.data.data_dir={data_dir}")
  print(f"[{name}] {' '.join(cmd)}", file=sys.stderr, flush=True)
  subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
  return statistics.median(step_times(workdir / "metrics.jsonl"))


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--data_dir", default=None)
  p.add_argument("--steps", type=int, default=400)
  p.add_argument("--rounds", type=int, default=2)
  p.add_argument("--cases", default=",".join(CASES),
                 help="comma-separated subset of: " + ", ".join(CASES))
  p.add_argument("--out", default=None, help="also write the JSON here")
  args = p.parse_args()
  names = [n.strip() for n in args.cases.split(",")]
  unknown = [n for n in names if n not in CASES]
  if unknown:
    p.error(f"unknown cases {unknown}; known: {list(CASES)}")
  if "mse" not in names:
    p.error("the mse case is the reference; keep it in --cases")
  root = pathlib.Path(args.workdir)
  per_round = {n: [] for n in names}
  for r in range(args.rounds):
    for n in names:
      slug = n.replace(" ", "").replace("(", "_").replace(")", "")
      per_round[n].append(run_case(n, CASES[n], workdir=root / f"r{r}_{slug}",
                                   steps=args.steps, data_dir=args.data_dir))
      print(f"round {r} {n}: {per_round[n][-1] * 1e3:.1f} ms/step",
            file=sys.stderr, flush=True)
  ref = statistics.median(per_round["mse"])
  result = {"steps": args.steps, "rounds": args.rounds, "cases": {}}
  for n in names:
    med = statistics.median(per_round[n])
    result["cases"][n] = {
        "ms_per_step_rounds": [round(t * 1e3, 1) for t in per_round[n]],
        "ms_per_step": round(med * 1e3, 1),
        "overhead_vs_mse_pct": round((med / ref - 1) * 100, 1),
    }
  text = json.dumps(result, indent=1)
  print(text)
  if args.out:
    pathlib.Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
  main()
