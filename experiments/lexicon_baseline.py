"""The model-free baselines on a dataset split: one table per language.

Mean pose, nearest-neighbour retrieval, the gloss lexicon (each test
example's reference glosses as isolated training signs, joined) and the
ground truth, scored by the evaluators `signllm evaluate` runs (DTW,
DTW-MJE, hand motion, hand travel, the SynthSign recogniser on scaled and
on DTW-aligned spans), so the numbers are the baseline rows of any model's
table on the same split. No model, no training.

COMMAND:
  .venv/bin/python experiments/lexicon_baseline.py \\
      --dataset synth_sign/small --split test --max_examples 300 \\
      --choices medoid,mean_signer

`--choices` adds a "lexicon (CHOICE)" row for each extra clip choice (the
first is the "lexicon" row). `--out PREFIX` also writes PREFIX.json/.md.
"""

import argparse
import json
import pathlib
import sys
import time

import ml_collections
import numpy as np

from signllm_jax import languages
from signllm_jax.baselines import fit as fit_lib
from signllm_jax.baselines import lexicon as lexicon_lib
from signllm_jax.data import datasets
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import pose_evals
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import run as run_lib
from signllm_jax.evaluate import synth_evals
from signllm_jax.evaluate import systems as systems_lib


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def read_examples(path, split, langs, max_examples, tokenizer, stats):
  """The first max_examples examples per language of `split`."""
  source = datasets.data_source(path, split)
  index = datasets.load_index(path, split, tokenizer)
  out = []
  for lang in langs:
    rows = np.flatnonzero(index["lang"] == languages.lang_index(lang))
    if max_examples > 0:
      rows = rows[:max_examples]
    for i in rows:
      rec = source[int(i)]
      ref = systems_lib.nan_to_mean(np.asarray(rec["pose"], np.float32),
                                    stats)
      out.append(context_lib.Example(
          idx=int(i), lang=lang, text=_str(rec["text"]), ref_TxJx3=ref,
          pred_TxJx3=ref, oracle_TxJx3=ref,
          sign_ids=np.asarray(rec.get("sign_ids", np.zeros(0)), np.int64),
          spans=np.asarray(rec.get("spans", np.zeros((0, 2))),
                           np.int64).reshape(-1, 2),
          lang_gloss_ref=_str(rec.get("lang_gloss", ""))))
  return out


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--dataset", default="synth_sign/small", help="NAME/CONFIG")
  p.add_argument("--data_dir", default="")
  p.add_argument("--split", default="test")
  p.add_argument("--max_examples", type=int, default=300,
                 help="examples per language (<= 0: all)")
  p.add_argument("--langs", default="all")
  p.add_argument("--choices", default="medoid",
                 help=f"lexicon clip choices, comma list of "
                      f"{', '.join(lexicon_lib.CHOICES)}")
  p.add_argument("--blend_frames", type=int, default=lexicon_lib.BLEND_FRAMES)
  p.add_argument("--train_examples", type=int,
                 default=systems_lib.BASELINE_TRAIN_EXAMPLES,
                 help="train examples per language for mean pose/retrieval")
  p.add_argument("--out", default="", help="also write OUT.json and OUT.md")
  args = p.parse_args(argv)
  t0 = time.perf_counter()
  name, _, config = args.dataset.partition("/")
  path = datasets.dataset_dir(name, config or None, args.data_dir or None)
  tokenizer = datasets.load_tokenizer(path=path)
  stats = datasets.load_stats(path=path)
  langs = list(languages.parse_langs(args.langs))
  choices = [c.strip() for c in args.choices.split(",") if c.strip()]
  examples = read_examples(path, args.split, langs, args.max_examples,
                           tokenizer, stats)
  systems, notes = {}, []
  for k, choice in enumerate(choices):
    fitted = fit_lib.fit(path, langs, tokenizer, per_lang=args.train_examples,
                         blend_frames=args.blend_frames, choice=choice)
    if k == 0:
      systems = systems_lib.system_poses(examples, fitted, stats, "none")
      for row in ("none", context_lib.oracle_row("none")):
        del systems[row]  # no model: only the baselines
      notes.append(systems_lib.lexicon_note(examples, fitted))
    elif report_lib.LEXICON in systems:
      poses, _ = systems_lib.lexicon_poses(examples, fitted, stats)
      systems[f"lexicon ({choice})"] = poses
  ctx = context_lib.Context(
      examples=examples, systems=systems, model_name="none", stats=stats,
      tokenizer=tokenizer, mode="none",
      dataset_metadata=json.loads((path / "metadata.json").read_text())
      if (path / "metadata.json").is_file() else {},
      evaluate_cfg=ml_collections.ConfigDict({"render_samples": 0}),
      data_cfg=ml_collections.ConfigDict({"name": name, "config": config}),
      workdir=pathlib.Path("."), split=args.split, fps=25.0)
  evaluators = {"pose_distance": pose_evals.PoseDistance(),
                "hand_motion": pose_evals.HandMotion(),
                "gloss_accuracy": synth_evals.GlossAccuracy()}
  out = run_lib.run_evaluators(evaluators, ctx)
  settings = {"dataset": args.dataset, "split": args.split,
              "examples": {l: len(ctx.rows(l)) for l in ctx.langs},
              "lexicon_choices": choices, "blend_frames": args.blend_frames,
              "seconds": {"evals": out["seconds"],
                          "total": round(time.perf_counter() - t0, 1)},
              **out["settings"]}
  report = report_lib.build_report(
      out["results"], timing="baselines",
      note=" ".join(["Mean pose: reference length; retrieval and lexicon: "
                     "their own length.", *notes, *out["notes"]]),
      settings=settings)
  print(f"## Baselines on {args.dataset} {args.split} "
        f"({len(examples)} examples)\n")
  print(report_lib.to_markdown(report))
  print(json.dumps(settings, indent=1), file=sys.stderr)
  if args.out:
    report_lib.write_report(report, args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
