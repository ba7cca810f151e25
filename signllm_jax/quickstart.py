"""`signllm quickstart`: the whole pipeline on tiny SynthSign, in minutes.

Stages (each printed with its wall time):
  1. data      build synth_sign/tiny into --data_dir (default
               {workdir}/tfds); skipped when already built.
  2. train     the --config experiment (experiments/quickstart.py) in
               --workdir; an existing workdir resumes (one whose newest
               checkpoint reached train.steps is reused as it is).
  3. generate  the first `per_lang` test sentences of each language in the
               model's own timing; counts how many stopped at the frame cap
               instead of their own length; writes the first of each
               language (.skels/.pose/.npz/.gif) and a frame strip against
               the ground truth (.png) into {workdir}/generated/.
  4. evaluate  the same sentences with the baselines (`signllm evaluate`;
               a back-translator only where the config enables that
               evaluator: then `experiments/backtranslation.py:quick`,
               trained by the one trainer into {workdir}/backtranslator).
Then one compact table (summary.py: the model against its best baseline),
the verdict, where the files are, and the next command. The full tables are
in {workdir}/eval_test.md and .json. Budget and measured time:
docs/RESULTS.md, "The main job".
"""

import pathlib
import time
from typing import Sequence

import numpy as np

from signllm_jax import errors
from signllm_jax import config as config_lib
from signllm_jax import languages
from signllm_jax import render
from signllm_jax import train
from signllm_jax.data import datasets
from signllm_jax.data import prompts
from signllm_jax.evaluate import run as eval_run
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import writers as gen_writers

EVAL_EXAMPLES_PER_LANG = 25  # tiny's whole test split
QUICK_BACKTRANSLATION = "experiments/backtranslation.py:quick"
STRIP_FRAMES = 6  # frames in each generated/<lang>_strip.png

# (metric keys, first found wins; title; goal): goal "low", "high" or "one"
# (a ratio to the ground truth: closer to 1 wins). The verdict reads the
# first two.
METRICS = (
    (("dtw_mje",), "DTW-MJE", "low"),
    (("hand_travel", "hand_motion_ratio"), None, "one"),
    (("gloss_accuracy_dtw", "gloss_accuracy"), "gloss acc. %", "high"),
    (("bleu4",), "BLEU-4", "high"),
)
VERDICT_METRICS = 2
_TITLES = {"hand_travel": "hand travel", "hand_motion_ratio": "hand motion"}
_GOALS = {"low": "lower wins", "high": "higher wins", "one": "1 wins"}
_SHORT = {"mean pose": "mean", "nearest neighbour": "retrieval"}
GROUND_TRUTH = "ground truth"


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


def _test_examples(data_cfg, split: str, langs: Sequence[str], per_lang: int
                   ) -> list[dict]:
  """The first `per_lang` `split` examples of each language: lang, text,
  pose [T, 50, 3] (internal convention), frames."""
  path = datasets.dataset_dir(data_cfg.name, data_cfg.config,
                              data_cfg.data_dir or None)
  tok = datasets.load_tokenizer(path=path)
  index = datasets.load_index(path, split, tok)
  source = datasets.data_source(path, split)
  out = []
  for lang in langs:
    rows = np.flatnonzero(index["lang"] == languages.lang_index(lang))
    for row in rows[:per_lang]:
      ex = source[int(row)]
      text = ex["text"]
      out.append({"lang": lang,
                  "text": (text.decode("utf-8") if isinstance(text, bytes)
                           else str(text)),
                  "pose": np.asarray(ex["pose"], np.float32),
                  "frames": int(index["num_frames"][row])})
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


# --------------------------------------------------------------------------
# The compact summary (pure functions of the evaluation report).


def length_check(own_frames: Sequence[int], true_frames: Sequence[int],
                 cap: int) -> dict:
  """How the model's own lengths compare with the truth and the cap."""
  own = np.asarray(own_frames, np.float64)
  true = np.asarray(true_frames, np.float64)
  return {"n": len(own), "at_cap": int((own >= cap).sum()), "cap": int(cap),
          "median_ratio": float(np.median(own / true)) if len(own) else
                          float("nan")}


def _beats(model, base, goal: str) -> bool:
  if model is None:
    return False
  if base is None:
    return True
  if goal == "low":
    return model < base
  if goal == "high":
    return model > base
  return abs(model - 1.0) < abs(base - 1.0)


def _best(values: dict, goal: str):
  """(name, value) of the best baseline on one metric (None: none has it)."""
  have = {k: v for k, v in values.items() if v is not None}
  if not have:
    return None, None
  if goal == "low":
    name = min(have, key=have.get)
  elif goal == "high":
    name = max(have, key=have.get)
  else:
    name = min(have, key=lambda k: abs(have[k] - 1.0))
  return name, have[name]


def _rows(report: dict):
  """(model row, baseline rows) of the report's systems."""
  systems = list(next(iter(report["languages"].values())))
  model = systems[0]
  baselines = [s for s in systems[1:] if s != GROUND_TRUTH
               and not s.startswith(f"{model}, ")]
  return model, baselines


def _metrics_present(report: dict, model: str):
  """METRICS whose first present key the model row fills, as (key, title,
  goal)."""
  out = []
  for keys, title, goal in METRICS:
    for key in keys:
      if any(s[model].get(key) is not None
             for s in report["languages"].values()):
        out.append((key, title or _TITLES[key], goal))
        break
  return out


def summarize(report: dict, lengths: dict | None = None
              ) -> tuple[list[str], bool]:
  """The compact table (a row per language: the model against its best
  baseline per metric) and the verdict line; returns (lines, met)."""
  model, baselines = _rows(report)
  metrics = _metrics_present(report, model)
  head1 = f"{'':7s}"
  head2 = f"{'lang':7s}"
  for _, title, goal in metrics:
    head1 += f"| {title + ' (' + _GOALS[goal] + ')':28s}"
    head2 += f"| {'model':>7s}  {'best baseline':19s}"
  lines = [head1.rstrip(), head2.rstrip(), "-" * len(head2)]
  won, lost = [], []
  for lang, systems in report["languages"].items():
    row = f"{lang:7s}"
    ok = True
    for i, (key, _, goal) in enumerate(metrics):
      value = systems[model].get(key)
      base_name, base = _best({b: systems[b].get(key) for b in baselines},
                              goal)
      beats_all = all(_beats(value, systems[b].get(key), goal)
                      for b in baselines)
      if i < VERDICT_METRICS:
        ok &= beats_all
      mark = "*" if beats_all else " "
      shown = "-" if value is None else f"{value:.3g}"
      who = _SHORT.get(base_name, base_name or "")
      base_txt = "-" if base is None else f"{base:.3g} {who}"
      row += f"| {shown:>6s}{mark}  {base_txt:19s}"
    (won if ok else lost).append(lang)
    lines.append(row.rstrip())
  short = [_SHORT.get(b, b) for b in baselines]
  names = (", ".join(short[:-1]) + " and " + short[-1] if len(short) > 1
           else "".join(short))
  judged = " and ".join(t for _, t, _ in metrics[:VERDICT_METRICS])
  lines.append("* the model beats every baseline on that metric")
  if lengths:
    lines.append(
        f"Lengths: {lengths['at_cap']} of {lengths['n']} generated samples "
        f"reached the {lengths['cap']}-frame cap; own / true length "
        f"{lengths['median_ratio']:.2f} (median).")
  met = not lost and bool(won)
  stops = not lengths or lengths["at_cap"] == 0
  verdict = (f"Verdict: the model beats {names} on {judged} in {len(won)} "
             f"of {len(won) + len(lost)} languages")
  verdict += "." if not lost else f" (not {', '.join(lost)})."
  if not stops:
    verdict += " Some samples ran to the frame cap: they did not stop."
  lines.append(verdict)
  return lines, met and stops


# --------------------------------------------------------------------------


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
    if cfg.data.name not in datasets.EMBEDDED:
      try:
        path = datasets.dataset_dir(cfg.data.name, cfg.data.config,
                                    cfg.data.data_dir)
      except FileNotFoundError:
        raise errors.UserError(
            f"quickstart builds only the embedded corpus; build "
            f"{cfg.data.name} first with `signllm data build`") from None
    else:
      path = datasets.ensure_built(cfg.data.name, cfg.data.config,
                                   cfg.data.data_dir, progress=True)
    print(f"dataset: {path}")

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

  per_lang = (int(cfg.evaluate.max_examples)
              if cfg.evaluate.max_examples > 0 else EVAL_EXAMPLES_PER_LANG)
  out_dir = workdir / "generated"
  with _Stage(3, total, f"generate: {per_lang} sentences per language",
              timings):
    loaded = gen.load_workdir(workdir)
    examples = _test_examples(cfg.data, cfg.evaluate.split, loaded.langs,
                              per_lang)
    if loaded.mode == "p2lg":
      rng = np.random.default_rng(0)
      requests = [gen.Request(prompts.make_prompt(e["text"], e["lang"], rng),
                              e["lang"], f"{e['lang']} sample")
                  for e in examples]
    else:
      requests = [gen.Request(e["text"], e["lang"], f"{e['lang']} sample")
                  for e in examples]
    results = gen.generate(loaded, requests, progress=True,
                           length_mode=gen.own_timing(loaded),
                           batch_size=int(cfg.data.batch_size))
    lengths = length_check([len(g.pose_TxJx3) for g in results],
                           [e["frames"] for e in examples],
                           int(loaded.cfg.generate.max_frames))
    first = {}
    for e, g in zip(examples, results):
      first.setdefault(g.lang, (e, g))
    written = gen_writers.write_outputs([g for _, g in first.values()],
                                        out_dir,
                                        formats=("skels", "pose", "npz",
                                                 "gif"), size=(240, 240))
    for lang, (e, g) in first.items():
      written.append(render.render_strip_png(
          g.pose_TxJx3, out_dir / f"{lang}_strip.png", reference=e["pose"],
          frames=STRIP_FRAMES, title=f"{lang}: {g.source}"))
      extra = f"  LangGloss: {g.lang_gloss}" if g.lang_gloss else ""
      print(f"  {g.lang:6s} {len(g.pose_TxJx3):4d} frames (truth "
            f"{e['frames']})  {g.source!r}{extra}")
    print(f"wrote {len(written)} files in {out_dir}")

  with _Stage(4, total, f"evaluate: {cfg.evaluate.split}, {per_lang} "
              "examples per language", timings):
    bt_workdir = ""
    if cfg.evals.backtranslation.enabled:
      bt_workdir = (cfg.evaluate.backtranslation_workdir
                    or str(_train_quick_backtranslator(cfg, workdir)))
    result = eval_run.evaluate_workdir(
        workdir, split=cfg.evaluate.split, max_examples=per_lang,
        backtranslation=bt_workdir)

  lines, _ = summarize(result, lengths)
  header = (f"{loaded.name} on {cfg.data.name}/{cfg.data.config} "
            f"{cfg.evaluate.split}, {per_lang} sentences per language")
  summary_path = workdir / "quickstart_summary.txt"
  summary_path.write_text("\n".join([header, *lines]) + "\n",
                          encoding="utf-8")
  print()
  print(header)
  print("\n".join(lines))
  print("\nFiles:")
  print(f"  full tables         {result['md_path']}, {result['json_path']}")
  print(f"  this summary        {summary_path}")
  print(f"  generated samples   {out_dir} (.skels .pose .npz .gif, "
        "*_strip.png)")
  print(f"  produced | truth    {workdir / 'samples'} (GIFs)")
  print(f"  model checkpoints   {workdir / 'checkpoints'}")
  print("Stage times: " + ", ".join(
      f"{k.split(':')[0]} {v:.0f} s" for k, v in timings.items())
        + f"; total {time.perf_counter() - t_start:.0f} s")
  print(f"\nNext: signllm serve --workdir {workdir}")
  return 0
