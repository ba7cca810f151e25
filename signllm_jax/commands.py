"""Handlers behind `signllm COMMAND`; each takes the parsed args."""

import json
import logging
import pathlib
import sys

from signllm_jax import errors

UserError = errors.UserError


def _setup_logging():
  logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                      format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  for noisy in ("absl", "jax._src", "orbax", "tensorflow_datasets"):
    logging.getLogger(noisy).setLevel(logging.WARNING)


def _load_config(spec, overrides):
  from signllm_jax import config as config_lib
  try:
    return config_lib.load_config(spec, overrides)
  except (config_lib.ConfigError, ValueError) as e:
    raise UserError(str(e)) from None


def cmd_data(args, overrides):
  del overrides
  if args.data_command == "build":
    from signllm_jax.data import datasets
    path = datasets.build_dataset(
        args.name, args.config, data_dir=args.data_dir or None,
        manual_dir=args.manual_dir or None, progress=True,
        skip_bad=args.skip_bad)
    print(f"built {args.name}/{args.config} at {path}")
    return 0
  if args.data_command == "convert":
    from signllm_jax.data import convert
    report = convert.convert_openpose(
        args.in_dir, args.out_dir, split=args.split,
        text_file=args.text or None, files_file=args.files or None,
        steps=args.steps, progress=True)
    print(report.format())
    return 0
  if args.data_command == "export":
    from signllm_jax import languages
    from signllm_jax.data.synth import corpus, export
    langs = languages.parse_langs(args.langs)
    for split in ("train", "dev", "test"):
      written = export.write_prompt2sign_layout(
          corpus.generate_split(args.size, split, langs=langs), args.out_dir,
          split, progress=True)
      print(f"{split}: wrote {sorted(written)} under {args.out_dir}")
    return 0
  raise UserError("choose a data command: build, convert or export "
                  "(signllm data --help)")


def cmd_train(args, overrides):
  cfg = _load_config(args.config, overrides)
  if args.print_config:
    # Resolved: the variant's sizes filled in, as the model is built.
    from signllm_jax import config as config_lib
    from signllm_jax.model import variants
    with cfg.unlocked():
      cfg.model = variants.resolve(cfg.model)
    print(config_lib.to_json(cfg))
    return 0
  if not args.workdir:
    raise UserError("--workdir is required to train")
  from signllm_jax import distributed, train
  try:
    distributed.initialize_from_env()
    final = train.train_and_evaluate(cfg, args.workdir)
  except (distributed.DistributedConfigError, train.TrainingError) as e:
    raise UserError(str(e)) from None
  print(json.dumps({k: v for k, v in final.items()
                    if isinstance(v, (int, float))}, indent=2))
  return 0


def cmd_generate(args, overrides):
  from signllm_jax.generate import pipeline as gen_pipeline
  try:
    written = gen_pipeline.generate_cli(args, overrides)
  except gen_pipeline.GenerateError as e:
    raise UserError(str(e)) from None
  for path in written:
    print(path)
  return 0


def cmd_evaluate(args, overrides):
  from signllm_jax.evaluate import run as eval_run
  try:
    report = eval_run.evaluate_workdir(
        args.workdir, split=args.split, max_examples=args.max_examples,
        overrides=overrides)
  except eval_run.EvaluateError as e:
    raise UserError(str(e)) from None
  print(report["markdown"])
  return 0


def cmd_bench(args, overrides):
  cfg = _load_config(args.config, overrides)
  from signllm_jax import bench
  results = []
  if args.what in ("train", "all"):
    results.append(bench.bench_train(cfg, batch=args.batch,
                                     frames=args.frames, steps_n=args.steps))
  if args.what in ("generate", "all"):
    results.extend(bench.bench_generate(cfg, batch=args.batch,
                                        frames=args.frames))
  for r in results:
    print(bench.summary_line(r), file=sys.stderr)
  text = json.dumps(results if len(results) > 1 else results[0], indent=2,
                    default=float)
  print(text)
  if args.out:
    pathlib.Path(args.out).write_text(text)
  return 0


def cmd_sweep(args, overrides):
  from signllm_jax import sweep
  return sweep.run_sweep(args.spec, workdir=args.workdir,
                         dry_run=args.dry_run, emit=args.emit,
                         overrides=overrides)


def cmd_compile(args, overrides):
  cfg = _load_config(args.config, overrides)
  from signllm_jax import aot
  try:
    result = aot.compile_for_topology(cfg, args.topology,
                                      batch=args.batch or None,
                                      frames=args.frames or None)
  except aot.AotError as e:
    raise UserError(str(e)) from None
  print(json.dumps(result, indent=2, default=str))
  return 0 if result.get("fits", True) else 1


def cmd_checkpoint(args, overrides):
  del overrides
  if args.checkpoint_command != "migrate":
    raise UserError("choose a checkpoint command: migrate "
                    "(signllm checkpoint --help)")
  from signllm_jax import checkpoint
  ckpt_dir = pathlib.Path(args.path)
  if (ckpt_dir / "checkpoints").is_dir():  # a workdir
    ckpt_dir = ckpt_dir / "checkpoints"
  if not ckpt_dir.is_dir():
    raise UserError(f"{args.path}: no such checkpoint folder or workdir")
  done = checkpoint.migrate(ckpt_dir)
  print(f"migrated steps {done} in {ckpt_dir}" if done else
        f"nothing to migrate in {ckpt_dir}")
  return 0


def cmd_quickstart(args, overrides):
  from signllm_jax import quickstart
  return quickstart.run(args, overrides)


HANDLERS = {
    "data": cmd_data, "train": cmd_train, "generate": cmd_generate,
    "evaluate": cmd_evaluate, "bench": cmd_bench, "sweep": cmd_sweep,
    "compile": cmd_compile, "quickstart": cmd_quickstart,
    "checkpoint": cmd_checkpoint,
}


def dispatch(args, overrides):
  _setup_logging()
  return HANDLERS[args.command](args, overrides)
