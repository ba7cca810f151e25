"""Peak RSS of a prompt2sign build against the split's size (issue 17).

Generates a real-format (Prompt2Sign `.skels/.text/.files/.gloss`) ASL
train split of N sequences under a scratch folder (never in the repo),
then, in a fresh process per N, builds it with the streaming builder and,
for contrast, reads it with the in-memory reader (`skels.read_split`, what
the builder did before). Prints one JSON line per run.

  python experiments/real_stream_rss.py --out /tmp/p2s_rss \
      --sizes 5000,10000,20000 --frames 32
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np


def generate(directory: pathlib.Path, n: int, frames: int, seed: int = 0):
  """n sequences: 64 distinct poses cycled (the reader parses every line)."""
  from signllm_jax.data import skels  # pylint: disable=g-import-not-at-top
  directory.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(seed)
  pool = [skels.format_sequence(
      rng.uniform(-2, 2, (frames, 50, 3)).astype(np.float32), "prompt2sign")
          for _ in range(64)]
  with (directory / "train.skels").open("w") as skels_f, (
      directory / "train.text").open("w") as text_f, (
          directory / "train.files").open("w") as files_f, (
              directory / "train.gloss").open("w") as gloss_f:
    for i in range(n):
      skels_f.write(pool[i % len(pool)] + "\n")
      text_f.write(f"this is sentence number {i}\n")
      files_f.write(f"clip{i:07d}\n")
      gloss_f.write(f"THIS SENTENCE N{i % 97}\n")


def run_one(mode: str, manual: pathlib.Path, data_dir: pathlib.Path) -> dict:
  start = time.perf_counter()
  if mode == "stream":
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    from tfds_builders import prompt2sign  # pylint: disable=g-import-not-at-top
    tfds.display_progress_bar(False)
    builder = prompt2sign.build("asl_v1", manual_dir=manual,
                                data_dir=data_dir)
    n = builder.info.splits["train"].num_examples
    size = sum(os.path.getsize(p) for p in builder.data_path.glob("*"))
  else:
    from signllm_jax.data import skels  # pylint: disable=g-import-not-at-top
    n = len(skels.read_split(manual / "ASL", "train").records)
    size = 0
  return {"mode": mode, "examples": n, "seconds": round(
      time.perf_counter() - start, 1),
          "peak_rss_mb": round(resource.getrusage(
              resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
          "built_mb": round(size / 2**20, 1)}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--out", default="/tmp/p2s_rss")
  parser.add_argument("--sizes", default="5000,10000,20000")
  parser.add_argument("--frames", type=int, default=32)
  parser.add_argument("--modes", default="stream,in_memory")
  parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    mode, manual, data_dir = args.child
    print(json.dumps(run_one(mode, pathlib.Path(manual),
                             pathlib.Path(data_dir))))
    return
  out = pathlib.Path(args.out)
  for n in (int(s) for s in args.sizes.split(",")):
    manual = out / f"manual_{n}"
    if not (manual / "ASL" / "train.skels").exists():
      generate(manual / "ASL", n, args.frames)
    source_mb = (manual / "ASL" / "train.skels").stat().st_size / 2**20
    for mode in args.modes.split(","):
      data_dir = out / f"data_{n}_{mode}"
      proc = subprocess.run(
          [sys.executable, __file__, "--child", mode, str(manual),
           str(data_dir)], capture_output=True, text=True, check=True,
          env={**os.environ, "JAX_PLATFORMS": "cpu"})
      row = json.loads(proc.stdout.strip().splitlines()[-1])
      row.update(sequences=n, frames=args.frames,
                 source_skels_mb=round(source_mb, 1))
      print(json.dumps(row), flush=True)


if __name__ == "__main__":
  main()
