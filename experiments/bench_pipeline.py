"""Throughput of the training input pipeline (examples/s, frames/s).

COMMAND (builds synth_sign/<config> into --data_dir first if needed):
  python experiments/bench_pipeline.py --config tiny --data_dir /tmp/tfds \
      --batch_sizes 8,32 --steps 50 --warmup 5 [--worker_count 0]

Prints one JSON object. "frames_per_s" counts real (unpadded) frames,
"padded_frames_per_s" the frames the model computes on. The reference
consumer is PT's Base training step on this machine kind: ~1,500 frames/s at
batch 8 x 150 frames (docs PEERS.md); "ratio_vs_pt_train" is how many times
faster the pipeline delivers frames than that step consumes them.
"""

import argparse
import json
import os
import platform
import time

import jax
import numpy as np

from signllm_jax.data import datasets
from signllm_jax.data import pipeline

PT_TRAIN_FRAMES_PER_S = 1500.0


def _bench(cfg, mesh, steps: int, warmup: int) -> dict:
  it = pipeline.make_train_iterator(cfg, mesh=mesh, batch_axes=("data",))
  t0 = time.perf_counter()
  for _ in range(warmup):
    jax.block_until_ready(next(it))
  startup = time.perf_counter() - t0
  frames = padded = examples = 0
  t0 = time.perf_counter()
  for _ in range(steps):
    b = jax.block_until_ready(next(it))
    length = np.asarray(b["length"])
    frames += int(length.sum())
    padded += int(np.prod(b["pose_mask"].shape))
    examples += length.shape[0]
  dt = time.perf_counter() - t0
  return {
      "batch_size": cfg.batch_size, "steps": steps,
      "warmup_s": round(startup, 3),
      "examples_per_s": round(examples / dt, 1),
      "frames_per_s": round(frames / dt, 1),
      "padded_frames_per_s": round(padded / dt, 1),
      "mean_frames_per_example": round(frames / examples, 1),
      "ratio_vs_pt_train": round(frames / dt / PT_TRAIN_FRAMES_PER_S, 2),
  }


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--name", default="synth_sign")
  p.add_argument("--config", default="tiny")
  p.add_argument("--data_dir", default=None)
  p.add_argument("--batch_sizes", default="8,32")
  p.add_argument("--steps", type=int, default=50)
  p.add_argument("--warmup", type=int, default=5)
  p.add_argument("--worker_count", type=int, default=0)
  p.add_argument("--read_threads", type=int, default=4)
  p.add_argument("--max_frames", type=int, default=256)
  args = p.parse_args()

  try:
    datasets.dataset_dir(args.name, args.config, args.data_dir)
  except FileNotFoundError:
    datasets.build_dataset(args.name, args.config, data_dir=args.data_dir)
  mesh = jax.make_mesh((jax.device_count(),), ("data",),
                       axis_types=(jax.sharding.AxisType.Auto,))
  results = []
  for b in (int(x) for x in args.batch_sizes.split(",")):
    cfg = pipeline.default_data_config()
    cfg.update(name=args.name, config=args.config, data_dir=args.data_dir,
               batch_size=b, worker_count=args.worker_count,
               read_threads=args.read_threads, max_frames=args.max_frames,
               frame_buckets=tuple(
                   x for x in (64, 128, 256) if x < args.max_frames
               ) + (args.max_frames,))
    results.append(_bench(cfg, mesh, args.steps, args.warmup))
  print(json.dumps({
      "dataset": f"{args.name}/{args.config}",
      "worker_count": args.worker_count, "read_threads": args.read_threads,
      "cpus": os.cpu_count(), "machine": platform.processor() or
      platform.machine(), "devices": jax.device_count(),
      "pt_train_frames_per_s": PT_TRAIN_FRAMES_PER_S,
      "results": results}, indent=1))


if __name__ == "__main__":
  main()
