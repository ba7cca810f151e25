"""The `signllm` command line: one subcommand per stage of the pipeline.

Heavy imports (jax, tfds) happen inside the handlers so `signllm --help` is
instant.
"""

import argparse
import sys

CONFIG_HELP = ("experiment config: experiments/X.py[:ARG], then overrides "
               "--config.a.b=value")


def _add_config_args(p: argparse.ArgumentParser, default: str | None = None):
  p.add_argument("--config", default=default, required=default is None,
                 help=CONFIG_HELP + (f" (default {default})" if default else ""))


def _split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
  """Pulls `--config.a.b=value` / `--config.a.b value` out of argv."""
  rest, overrides = [], []
  i = 0
  while i < len(argv):
    arg = argv[i]
    if arg.startswith("--config."):
      if "=" in arg:
        overrides.append(arg[len("--config."):])
      else:
        if i + 1 >= len(argv):
          raise SystemExit(f"error: {arg} needs a value")
        overrides.append(f"{arg[len('--config.'):]}={argv[i + 1]}")
        i += 1
    else:
      rest.append(arg)
    i += 1
  return rest, overrides


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="signllm",
      description="SignLLM in JAX: multilingual sign language production "
                  "(text or prompt -> 3D skeleton poses).")
  sub = parser.add_subparsers(dest="command", metavar="COMMAND")

  p = sub.add_parser("quickstart", help="the main job on the embedded corpus: "
                     "build, train, generate, evaluate, render")
  p.add_argument("--workdir", default="workdirs/quickstart")
  p.add_argument("--data_dir", default="", help="TFDS data dir")
  _add_config_args(p, "experiments/quickstart.py")

  p = sub.add_parser("data", help="build TFDS datasets, convert raw keypoints")
  dsub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
  b = dsub.add_parser("build", help="build a TFDS dataset (array_record)")
  b.add_argument("name", choices=["synth_sign", "prompt2sign",
                                  "pose_lexicon"])
  b.add_argument("--config", required=True,
                 help="builder config: tiny|small|large (synth_sign), a "
                      "language/variant or multi_v1|multi_dwpose "
                      "(prompt2sign), or pose_lexicon's config "
                      "(docs/REAL_DATA.md)")
  b.add_argument("--data_dir", default="")
  b.add_argument("--manual_dir", default="",
                 help="prompt2sign: the folder holding your local corpus")
  b.add_argument("--skip_bad", action="store_true",
                 help="skip malformed examples (reported) instead of failing")
  c = dsub.add_parser("convert", help="convert raw keypoints to .skels")
  c.add_argument("format", choices=["openpose"])
  c.add_argument("--in", dest="in_dir", required=True,
                 help="folder with one sub-folder of OpenPose JSON per clip")
  c.add_argument("--out", dest="out_dir", required=True)
  c.add_argument("--split", default="dev")
  c.add_argument("--text", default="", help="optional {split}.text file")
  c.add_argument("--files", default="", help="optional {split}.files file "
                 "(clip ids, line-aligned with --text)")
  c.add_argument("--steps", type=int, default=1000,
                 help="gradient-descent steps of the 2D->3D lifting")
  e = dsub.add_parser("export", help="write SynthSign in the Prompt2Sign "
                      "file layout ({split}.skels/.text/.gloss/.files)")
  e.add_argument("--size", default="tiny")
  e.add_argument("--out", dest="out_dir", required=True)
  e.add_argument("--langs", default="all")

  p = sub.add_parser("train", help="train a model (resumes an existing workdir)")
  _add_config_args(p)
  p.add_argument("--workdir", default="")
  p.add_argument("--print_config", action="store_true",
                 help="print the complete, resolved config (JSON) and exit")

  p = sub.add_parser("generate", help="text or prompt -> poses")
  p.add_argument("--workdir", required=True)
  p.add_argument("--lang", default="", help="sign language (MLSF)")
  g = p.add_mutually_exclusive_group()
  g.add_argument("--text", default="")
  g.add_argument("--prompt", default="")
  g.add_argument("--input_file", default="",
                 help="batch mode: one text (MLSF) or prompt (p2lg) per line")
  g.add_argument("--gloss", default="",
                 help="--backend lexicon: glosses or a LangGloss")
  p.add_argument("--backend", choices=["model", "lexicon", "retrieval"],
                 default="model",
                 help="model: the workdir's checkpoint; lexicon / retrieval: "
                      "baselines fitted on the train split of its dataset "
                      "(no checkpoint needed)")
  p.add_argument("--length", choices=["counter", "length", "oracle"],
                 default=None,
                 help="timing: the model's own by default (its length head "
                      "if it has one, else its counter)")
  p.add_argument("--out", default="generated",
                 help="output folder, or one file named by its extension "
                      "(.pose, .skels, .npz, .gif, .mp4)")
  p.add_argument("--formats", default="skels,pose,npz,gif",
                 help="comma list of skels,pose,npz,gif,mp4")
  p.add_argument("--convention", choices=["prompt2sign", "pt"],
                 default="prompt2sign")

  p = sub.add_parser("evaluate", help="DTW, back-translation BLEU/ROUGE, "
                     "baselines; JSON + Markdown tables")
  p.add_argument("--workdir", required=True)
  # None: the config's evaluate.split / evaluate.max_examples.
  p.add_argument("--split", default=None,
                 help="dataset split (default: cfg.evaluate.split)")
  p.add_argument("--max_examples", type=int, default=None,
                 help="examples per language, <= 0 all (default: "
                      "cfg.evaluate.max_examples)")

  p = sub.add_parser("bench", help="XLA-compiled benchmarks: train step, "
                     "generation; JSON + one-line summary")
  _add_config_args(p)
  p.add_argument("--what", default="train",
                 choices=["train", "generate", "all"])
  p.add_argument("--batch", type=int, default=8)
  p.add_argument("--frames", type=int, default=150)
  p.add_argument("--steps", type=int, default=10)
  p.add_argument("--out", default="", help="write the JSON here too")

  p = sub.add_parser("sweep", help="expand an experiment's sweep() into runs")
  p.add_argument("spec", help="experiments/X.py[:ARG]")
  p.add_argument("--dry_run", action="store_true")
  p.add_argument("--emit", choices=["local", "slurm", "tpu"], default="")
  p.add_argument("--workdir", default="workdirs/sweeps")

  p = sub.add_parser("compile", help="ahead-of-time compile the train step "
                     "for a TPU topology (needs the [tpu] extra)")
  _add_config_args(p)
  p.add_argument("--topology", required=True, help="e.g. v5e:4x4, v4:2x2x2")
  p.add_argument("--batch", type=int, default=0,
                 help="global batch (default: the config's data.batch_size)")
  p.add_argument("--frames", type=int, default=0,
                 help="frames per example (default: data.max_frames)")
  p = sub.add_parser("checkpoint", help="checkpoint tools")
  csub = p.add_subparsers(dest="checkpoint_command", metavar="CKPT_COMMAND")
  m = csub.add_parser("migrate", help="rewrite checkpoints of the fused "
                      "'state' layout as params + opt_state, in place")
  m.add_argument("path", help="a workdir or its checkpoints/ folder")

  p = sub.add_parser("serve", help="local web app: type a sentence, watch "
                     "the skeleton, download files (needs the [serve] extra)")
  p.add_argument("--workdir", required=True, help="a trained workdir")
  p.add_argument("--host", default="127.0.0.1",
                 help="address to listen on (default: this machine only)")
  p.add_argument("--port", type=int, default=8000)
  return parser


def _cmd_serve(args, overrides) -> int:
  # Its handler lives in serve/, which needs the [serve] extra (fastapi).
  from signllm_jax.serve import command  # pylint: disable=g-import-not-at-top
  return command.cmd_serve(args, overrides)


def main(argv: list[str] | None = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  argv, overrides = _split_overrides(argv)
  parser = build_parser()
  args = parser.parse_args(argv)
  if not args.command:
    parser.print_help()
    return 0
  from signllm_jax import commands  # pylint: disable=import-outside-toplevel
  try:
    if args.command == "serve":
      return _cmd_serve(args, overrides)
    return int(commands.dispatch(args, overrides) or 0)
  except commands.UserError as e:
    print(f"signllm {args.command}: error: {e}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
