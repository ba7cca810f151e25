"""Reports a trained pose tokenizer (evaluate/tokenizer_eval.py).

COMMAND:
  python experiments/pose_tokenizer_report.py --workdir runs/pose_tok \
      [--split test] [--max_examples 300] [--backtranslation_workdir B]
Writes W/tokenizer_{split}.json and .md and prints the tables.
"""

import argparse
import json
import pathlib

import ml_collections

from signllm_jax import workdir as workdir_lib
from signllm_jax.evaluate import backtranslation
from signllm_jax.evaluate import tokenizer_eval


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--split", default="test")
  p.add_argument("--max_examples", type=int, default=300)
  p.add_argument("--backtranslation_workdir", default="",
                 help="a back-translator trained on the same dataset: adds "
                 "BLEU-4 of the ground truth and of its reconstruction")
  args = p.parse_args(argv)
  loaded = workdir_lib.load_workdir(args.workdir)
  data_cfg = ml_collections.ConfigDict(loaded.cfg.data.to_dict())
  data_cfg.language_homogeneous = True
  data_cfg.too_long = "truncate"
  translator = None
  if args.backtranslation_workdir:
    translator = backtranslation.load(args.backtranslation_workdir,
                                      tokenizer=loaded.tokenizer,
                                      data=loaded.cfg.data)
  report = tokenizer_eval.evaluate(loaded, data_cfg, args.split,
                                   args.max_examples, translator=translator)
  report["step"] = loaded.step
  out = pathlib.Path(args.workdir) / f"tokenizer_{args.split}"
  out.with_suffix(".json").write_text(json.dumps(report, indent=1))
  md = tokenizer_eval.to_markdown(report)
  out.with_suffix(".md").write_text(md, encoding="utf-8")
  print(md)


if __name__ == "__main__":
  main()
