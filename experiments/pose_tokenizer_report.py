"""Reports a trained pose tokenizer (evaluate/tokenizer_eval.py).

COMMAND:
  python experiments/pose_tokenizer_report.py --workdir runs/pose_tok \
      [--split test] [--max_examples 300]
Writes W/tokenizer_{split}.json and .md and prints the tables.
"""

import argparse
import json
import pathlib

import ml_collections

from signllm_jax import workdir as workdir_lib
from signllm_jax.evaluate import tokenizer_eval


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--split", default="test")
  p.add_argument("--max_examples", type=int, default=300)
  args = p.parse_args(argv)
  loaded = workdir_lib.load_workdir(args.workdir)
  data_cfg = ml_collections.ConfigDict(loaded.cfg.data.to_dict())
  data_cfg.language_homogeneous = True
  data_cfg.too_long = "truncate"
  report = tokenizer_eval.evaluate(loaded, data_cfg, args.split,
                                   args.max_examples)
  report["step"] = loaded.step
  out = pathlib.Path(args.workdir) / f"tokenizer_{args.split}"
  out.with_suffix(".json").write_text(json.dumps(report, indent=1))
  md = tokenizer_eval.to_markdown(report)
  out.with_suffix(".md").write_text(md, encoding="utf-8")
  print(md)


if __name__ == "__main__":
  main()
