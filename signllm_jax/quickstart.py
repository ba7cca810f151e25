"""`signllm quickstart`: the whole pipeline on tiny SynthSign, in minutes.

Stages (each printed with its wall time):
  1. data      build synth_sign/tiny into --data_dir (default
               {workdir}/tfds); skipped when already built.
  2. train     the --config experiment (experiments/quickstart.py) in
               --workdir; an existing workdir resumes (one whose newest
               checkpoint reached train.steps is reused as it is).
  3. generate  one sentence per language (the first of the test split) ->
               .skels/.pose/.npz/.gif in {workdir}/generated/.
  4. evaluate  `evaluate.max_examples` test examples per language (16 when
               the config says all) with the baselines and a back-
               translator (`experiments/backtranslation.py:quick`, trained
               by the one trainer into {workdir}/backtranslator and reused,
               unless evaluate.backtranslation_workdir names one); prints
               the tables.
Budget: under 10 minutes on 2 CPU cores (docs: the measured time).
"""

import pathlib
import time
from typing import Sequence

import numpy as np

from signllm_jax import errors
from signllm_jax import config as config_lib
from signllm_jax import languages
from signllm_jax import train
from signllm_jax.data import datasets
from signllm_jax.data import prompts
from signllm_jax.evaluate import run as eval_run
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import writers as gen_writers

EVAL_EXAMPLES_PER_LANG = 16
QUICK_BACKTRANSLATION = "experiments/backtranslation.py:quick"


class _Stage:
  """Prints a header, then the stage's wall time."""

  def __init__(self, n: int, total: int, title: str, timings: dict):
    self.header = f"[{n}/{total}] {title}"
    self.title = title
    self.timings = timings

  def __enter__(self):
    print(f"\n=== {self.header} ===", flush=True)
    self.t0 = time.perf_counter()
    return self

  def __exit__(self, *exc):
    dt = time.perf_counter() - self.t0
    self.timings[self.title] = dt
    if exc[0] is None:
      print(f"=== {self.header}: done in {dt:.1f} s ===", flush=True)


def _first_test_texts(data_cfg, split: str, langs: Sequence[str]
                      ) -> list[tuple[str, str]]:
  """(lang, text) of the first `split` example of each language."""
  path = datasets.dataset_dir(data_cfg.name, data_cfg.config,
                              data_cfg.data_dir or None)
  tok = datasets.load_tokenizer(path=path)
  index = datasets.load_index(path, split, tok)
  source = datasets.data_source(path, split)
  out = []
  for lang in langs:
    rows = np.flatnonzero(index["lang"] == languages.lang_index(lang))
    if len(rows):
      text = source[int(rows[0])]["text"]
      out.append((lang, text.decode("utf-8") if isinstance(text, bytes)
                  else str(text)))
  return out


def _latest_step(workdir: pathlib.Path) -> int:
  """The newest saved step (0 if none): a finished run needs no trainer."""
  ckpts = workdir / "checkpoints"
  steps = [int(p.name) for p in ckpts.iterdir()
           if p.name.isdigit() and (p / "_CHECKPOINT_METADATA").exists()
           ] if ckpts.is_dir() else []
  return max(steps, default=0)


def _train_quick_backtranslator(cfg, workdir: pathlib.Path) -> pathlib.Path:
  """The quick back-translator (`QUICK_BACKTRANSLATION`) on the same data,
  trained by the one trainer into W/backtranslator (reused when done).
  `signllm evaluate` itself never trains one."""
  bt_dir = workdir / "backtranslator"
  bt_cfg = config_lib.load_config(QUICK_BACKTRANSLATION, [
      f"data.name={cfg.data.name}", f"data.config={cfg.data.config}",
      f"data.data_dir={cfg.data.data_dir}", f"data.langs={cfg.data.langs}",
      f"data.max_text_len={cfg.data.max_text_len}",
      f"train.progress={cfg.train.progress}"])
  done = _latest_step(bt_dir)
  if done >= bt_cfg.train.steps:
    print(f"back-translator: reusing {bt_dir} (step {done})")
  else:
    print(f"back-translator: training {QUICK_BACKTRANSLATION} for "
          f"{bt_cfg.train.steps} steps into {bt_dir} (evaluation needs one; "
          "`signllm evaluate` never trains it)")
    train.train_and_evaluate(bt_cfg, bt_dir)
  return bt_dir


def run(args, overrides: Sequence[str] = ()) -> int:
  """Runs the four stages; returns 0 (exceptions propagate)."""
  t_start = time.perf_counter()
  workdir = pathlib.Path(args.workdir)
  try:
    cfg = config_lib.load_config(args.config, overrides)
  except ValueError as e:
    raise errors.UserError(str(e)) from None
  data_dir = args.data_dir or cfg.data.data_dir or str(workdir / "tfds")
  cfg.data.data_dir = str(pathlib.Path(data_dir).expanduser())
  timings: dict[str, float] = {}
  total = 4

  with _Stage(1, total, f"data: {cfg.data.name}/{cfg.data.config}", timings):
    try:
      path = datasets.dataset_dir(cfg.data.name, cfg.data.config,
                                  cfg.data.data_dir)
      print(f"already built: {path}")
    except FileNotFoundError:
      if cfg.data.name != "synth_sign":
        raise errors.UserError(
            f"quickstart builds only synth_sign; build {cfg.data.name} "
            "first with `signllm data build`") from None
      path = datasets.build_dataset(cfg.data.name, cfg.data.config,
                                    data_dir=cfg.data.data_dir,
                                    progress=True)
      print(f"built: {path}")

  with _Stage(2, total, f"train: {cfg.model.mode} {cfg.model.variant}, "
              f"{cfg.train.steps} steps", timings):
    done = _latest_step(workdir)
    if done >= cfg.train.steps:
      print(f"{workdir} is already trained to step {done}: reusing it")
    else:
      if done:
        print(f"resuming {workdir} from step {done}")
      final = train.train_and_evaluate(cfg, workdir)
      shown = {k: round(v, 4) for k, v in final.items()
               if k in ("step", "loss", "dev/loss", "frames_per_s")}
      print(f"workdir: {workdir}  {shown}")

  with _Stage(3, total, "generate: one sentence per language", timings):
    loaded = gen.load_workdir(workdir)
    pairs = _first_test_texts(cfg.data, cfg.evaluate.split, loaded.langs)
    if loaded.mode == "p2lg":
      rng = np.random.default_rng(0)
      requests = [gen.Request(prompts.make_prompt(t, l, rng), l, f"{l} sample")
                  for l, t in pairs]
    else:
      requests = [gen.Request(t, l, f"{l} sample") for l, t in pairs]
    results = gen.generate(loaded, requests, progress=True,
                           batch_size=int(cfg.data.batch_size))
    out_dir = workdir / "generated"
    written = gen_writers.write_outputs(results, out_dir,
                                formats=("skels", "pose", "npz", "gif"),
                                size=(240, 240))
    for g in results:
      extra = f"  LangGloss: {g.lang_gloss}" if g.lang_gloss else ""
      print(f"  {g.lang:6s} {len(g.pose_TxJx3):4d} frames  {g.source!r}"
            f"{extra}")
    print(f"wrote {len(written)} files in {out_dir}")

  per_lang = (int(cfg.evaluate.max_examples)
              if cfg.evaluate.max_examples > 0 else EVAL_EXAMPLES_PER_LANG)
  with _Stage(4, total, f"evaluate: {cfg.evaluate.split}, {per_lang} "
              "examples per language", timings):
    bt_workdir = (cfg.evaluate.backtranslation_workdir
                  or str(_train_quick_backtranslator(cfg, workdir)))
    result = eval_run.evaluate_workdir(
        workdir, split=cfg.evaluate.split, max_examples=per_lang,
        backtranslation=bt_workdir)

  print()
  print(result["markdown"])
  print("Files:")
  print(f"  model checkpoints   {workdir / 'checkpoints'}")
  print(f"  generated samples   {workdir / 'generated'}")
  print(f"  evaluation tables   {result['json_path']}, {result['md_path']}")
  print(f"  rendered GIFs       {workdir / 'samples'}")
  print(f"  back-translator     {result['settings'].get('backtranslator')}")
  print("Stage times: " + ", ".join(
      f"{k.split(':')[0]} {v:.0f} s" for k, v in timings.items())
        + f"; total {time.perf_counter() - t_start:.0f} s")
  return 0
