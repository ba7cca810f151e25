"""Train-step and generation benchmarks on this CPU, paired with PT's figures.

COMMAND (about 15 minutes on 2 cores; each case in a fresh process so that
the process RSS is its own):
  python experiments/bench_cpu.py --out experiments/results/cpu_2core
  python experiments/bench_cpu.py --out /tmp/b --only train-pt-base-150

Every case is one `signllm bench` invocation (printed before it runs); its
JSON goes to OUT/<case>.json and a table of all cases with the PyTorch
reference figures (docs PEERS.md, same machine kind) to OUT/summary.json.
The machine is shared: the 1-minute load average is recorded per case;
rerun noisy cases and compare medians.
"""

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]

# PEERS.md: PT (PyTorch 2.13 CPU, 2 threads) on this machine kind, range of two
# runs, frames/s.
PT_FRAMES_PER_S = {
    ("train", 8, 150): (1500, 1540),
    ("train", 8, 300): (1860, 1900),
    ("generate", 1, 150): (57, 59),
    ("generate", 1, 300): (32, 37),
    ("generate", 8, 150): (81, 93),
    ("generate", 8, 300): (39, 42),
}


def cases(train_steps: int = 10) -> list[dict]:
  out = []
  for frames in (150, 300):
    # pt-base,shared = one 2+2 x 512 encoder-decoder (PT's parameter count);
    # pt-base = MLSF, 8 such groups stacked (the step touches all of them).
    for spec, name in (("pt-base,shared", "pt-base-shared"),
                       ("pt-base", "pt-base"),
                       ("base-40m", "base-40m")):
      out.append(dict(name=f"train-{name}-{frames}", what="train",
                      config=f"experiments/mlsf.py:{spec}", batch=8,
                      frames=frames, steps=train_steps))
  for batch in (1, 8):
    for frames in (150, 300):
      out.append(dict(name=f"generate-pt-base-b{batch}-{frames}",
                      what="generate", config="experiments/mlsf.py:pt-base",
                      batch=batch, frames=frames, steps=1))
  return out


def command(case: dict, out_file: pathlib.Path) -> list[str]:
  return [sys.executable, "-m", "signllm_jax.cli", "bench",
          "--config", case["config"], "--what", case["what"],
          "--batch", str(case["batch"]), "--frames", str(case["frames"]),
          "--steps", str(case["steps"]), "--out", str(out_file)]


def _pt_ratio(r: dict) -> dict:
  kind = "train" if r["what"] == "train_step" else "generate"
  pt = PT_FRAMES_PER_S.get((kind, r["batch"], r["frames"]))
  if not pt:
    return {}
  mid = sum(pt) / 2
  return {"pt_frames_per_s": list(pt), "speedup_vs_pt": r["frames_per_s"] / mid}


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", default=str(REPO / "experiments" / "results" /
                                           "cpu_2core"))
  parser.add_argument("--train_steps", type=int, default=10,
                      help="timed train steps per case (median reported)")
  parser.add_argument("--only", default="",
                      help="comma list of case names (default: all)")
  args = parser.parse_args()
  out_dir = pathlib.Path(args.out)
  out_dir.mkdir(parents=True, exist_ok=True)
  only = {s for s in args.only.split(",") if s}
  errors = {}
  for case in cases(args.train_steps):
    if only and case["name"] not in only:
      continue
    out_file = out_dir / f"{case['name']}.json"
    cmd = command(case, out_file)
    print("$", " ".join(cmd[1:]), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    print(f"   {time.perf_counter() - t0:.0f}s", flush=True)
    if proc.returncode:
      print(proc.stderr[-3000:], file=sys.stderr)
      errors[case["name"]] = proc.stderr[-2000:]
      continue
    for line in proc.stderr.splitlines():
      if " frames/s " in line:
        print("  ", line, flush=True)
  # The summary covers every case file present (reruns replace their case).
  rows = []
  for case in cases(args.train_steps):
    out_file = out_dir / f"{case['name']}.json"
    if not out_file.exists():
      continue
    results = json.loads(out_file.read_text())
    cmd = command(case, out_file)
    for r in results if isinstance(results, list) else [results]:
      rows.append({
          "case": case["name"], "command": "signllm " + " ".join(cmd[3:]),
          **{k: r.get(k) for k in (
              "what", "variant", "mode", "decoder", "batch", "frames",
              "frames_per_s", "step_s_median", "step_s_min", "step_s_all",
              "cpu_s_median", "compile_s",
              "init_s", "flops_per_step_per_device",
              "achieved_flops_per_s_per_device",
              "peak_memory_bytes_per_device", "rss_peak_bytes",
              "params_total", "load_avg_1min")},
          **_pt_ratio(r)})
  summary = {"machine": {"cpus": os.cpu_count(), "processor":
                         platform.processor(), "python":
                         platform.python_version()},
             "rows": rows, "errors": errors}
  summary_file = out_dir / "summary.json"
  summary_file.write_text(json.dumps(summary, indent=2, default=float))
  print(f"wrote {summary_file}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
