"""`signllm evaluate`: a trained workdir on one split -> per-language tables.

  load the workdir -> produce poses (systems.py: the model in its own and in
  oracle timing; the mean-pose, retrieval and ground-truth baselines) ->
  run each evaluator of cfg.evals (evaluators.py) -> report (report.py)

Writes `{workdir}/eval_{split}.json` and `.md` (report.COLUMNS; each
evaluator adds its columns, its sentence of the note and its settings) and
whatever files the evaluators write (GIFs under `{workdir}/samples/`).
Evaluation never trains anything: without `evaluate.backtranslation_workdir`
the back-translation columns are skipped and the note says how to train a
back-translator.
"""

import json
import logging
import pathlib
import time
from typing import Any, Mapping, Sequence

import ml_collections

from signllm_jax import workdir as workdir_lib
from signllm_jax.data import datasets
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import evaluators as evaluators_lib
from signllm_jax.evaluate import report as report_lib
from signllm_jax.evaluate import stage1 as stage1_lib
from signllm_jax.evaluate import systems as systems_lib

log = logging.getLogger(__name__)

EvaluateError = context_lib.EvaluateError
BASELINE_TRAIN_EXAMPLES = systems_lib.BASELINE_TRAIN_EXAMPLES


def _systems_note(model_name: str, mode: str,
                  language_given: bool = False) -> str:
  p2lg = (f" Row '{context_lib.reference_gloss_row(model_name)}' is stage 2 "
          "alone (poses from the reference LangGloss, its own timing); the "
          "model's own row runs end to end from the prompt"
          + (", stage 1 told each prompt's sign language "
             "(evaluate.p2lg_language_given)." if language_given else
             ", stage 1 choosing the language tags itself.")
          if mode == "p2lg" else "")
  return (f"Row '{context_lib.oracle_row(model_name)}' uses ground-truth "
          f"timing.{p2lg} Mean pose: the mean training pose for the "
          "reference length; nearest neighbour: the training clip with the "
          "most similar text (its own length).")


def run_evaluators(evaluators: Mapping[str, evaluators_lib.Evaluator],
                   ctx: context_lib.Context) -> dict[str, Any]:
  """Runs each evaluator on ctx; merges their results.

  Returns:
    {"results": {lang: {system: metrics}} with "examples" first,
     "notes": [sentence per evaluator that has one], "settings": merged,
     "files": paths written, "skipped": {name: reason},
     "seconds": {name: wall time}}.
  """
  results = {lang: {name: {"examples": len(ctx.rows(lang))}
                    for name in ctx.systems} for lang in ctx.langs}
  notes, settings, files, skipped, seconds = [], {}, [], {}, {}
  for name, evaluator in evaluators.items():
    t0 = time.perf_counter()
    res = evaluator(ctx)
    seconds[name] = round(time.perf_counter() - t0, 1)
    if res.skipped is not None:
      log.info("evaluator %s skipped: %s", name, res.skipped)
      skipped[name] = res.skipped
    for lang, rows in res.metrics.items():
      for system, metrics in rows.items():
        results[lang][system].update(metrics)
    if res.note:
      notes.append(res.note)
    settings.update(res.settings)
    files.extend(res.files)
  return {"results": results, "notes": notes, "settings": settings,
          "files": files, "skipped": skipped, "seconds": seconds}


def _load(workdir: pathlib.Path, overrides: Sequence[str]):
  """The one place that loads the evaluated workdir."""
  try:
    return workdir_lib.load_workdir(workdir, overrides)
  except workdir_lib.WorkdirError as e:
    raise EvaluateError(str(e)) from None


def _metadata(path: pathlib.Path) -> dict:
  f = path / "metadata.json"
  return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


def _stage1_records(loaded, data_cfg, split, max_examples, *, progress):
  """Stage 1 over the split in each of stage1.DECODINGS, scored; the
  records are also written to W/stage1_{split}.jsonl."""
  records = stage1_lib.collect(loaded, data_cfg, split, max_examples,
                               progress=progress)
  (loaded.workdir / f"stage1_{split}.jsonl").write_text(
      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
      encoding="utf-8")
  return stage1_lib.score_records(records)


def _evaluate_stage1_only(loaded, data_cfg, split, max_examples, *,
                          progress, t0) -> dict[str, Any]:
  """The report of a p2lg_stage="gloss" workdir: stage 1 alone."""
  try:
    datasets.ensure_built(data_cfg.name, data_cfg.config,
                          data_cfg.data_dir or None, progress=progress)
    stage1 = _stage1_records(loaded, data_cfg, split, max_examples,
                             progress=progress)
  except (FileNotFoundError, ValueError) as e:
    raise EvaluateError(str(e)) from None
  settings = {"workdir": str(loaded.workdir), "step": loaded.step,
              "split": split,
              "dataset": f"{data_cfg.name}/{data_cfg.config}",
              "max_examples_per_language": max_examples,
              "generate": loaded.cfg.generate.to_dict(), "stage1": stage1,
              "seconds": {"total": round(time.perf_counter() - t0, 1)}}
  markdown = (f"## {loaded.name} on {data_cfg.name}/{data_cfg.config} "
              f"{split}: stage 1 alone (p2lg_stage=gloss; its stage 2 is "
              "untrained, so there are no pose rows)\n\n"
              "### Stage 1: prompt -> LangGloss (prompts of held-out "
              "templates; half name their sign language)\n\n"
              + stage1_lib.to_markdown(stage1))
  base = loaded.workdir / f"eval_{split}"
  json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
  json_path.write_text(json.dumps({"settings": settings}, indent=2,
                                  default=str), encoding="utf-8")
  md_path.write_text(markdown, encoding="utf-8")
  return {"languages": {}, "settings": settings, "markdown": markdown,
          "json_path": json_path, "md_path": md_path, "samples": []}


def evaluate_workdir(workdir: str | pathlib.Path, *, split: str | None = None,
                     max_examples: int | None = None,
                     overrides: Sequence[str] = (), progress: bool = True,
                     backtranslation: str | None = None, translator=None,
                     baseline_train_examples: int = BASELINE_TRAIN_EXAMPLES,
                     ) -> dict[str, Any]:
  """Evaluates the newest checkpoint of `workdir` on `split`.

  Args:
    workdir: a training workdir (config.json + checkpoints/).
    split: dataset split (None: cfg.evaluate.split).
    max_examples: examples per language (None: cfg.evaluate.max_examples;
      <= 0: all).
    overrides: `a.b=value` config overrides (data.data_dir, generate.*,
      evaluate.*).
    progress: progress bars.
    backtranslation: a trained back-translator workdir, in place of
      cfg.evaluate.backtranslation_workdir ("" or "none": skip).
    translator: a loaded back-translator (`.name`, `.translate(frames_list)
      -> list[str]`) used in place of either.
    baseline_train_examples: training examples per language for baselines.

  Returns:
    The report (report.build_report: "languages", "note", "settings", ...)
    plus "markdown", "json_path", "md_path" and "samples" (files written).

  Raises:
    EvaluateError: the workdir, data, config or back-translator is unusable.
  """
  workdir = pathlib.Path(workdir)
  t0 = time.perf_counter()
  loaded = _load(workdir, overrides)
  cfg = loaded.cfg
  evaluate_cfg = ml_collections.ConfigDict(cfg.evaluate.to_dict())
  if backtranslation is not None:
    evaluate_cfg.backtranslation_workdir = backtranslation
  try:
    evaluators = evaluators_lib.build(
        evaluators_lib.evals_config(cfg),
        inject=({"backtranslation": {"translator": translator}}
                if translator is not None else None))
  except ValueError as e:
    raise EvaluateError(str(e)) from None
  split = split or evaluate_cfg.split
  if max_examples is None:
    max_examples = int(evaluate_cfg.max_examples)
  data_cfg = ml_collections.ConfigDict(cfg.data.to_dict())
  data_cfg.language_homogeneous = True  # per-language caps and MLSF groups
  if loaded.mode == "p2lg" and cfg.model.p2lg_stage == "gloss":
    # Stage 1 trained alone: its stage 2 is untrained, so no pose rows.
    return _evaluate_stage1_only(loaded, data_cfg, split, max_examples,
                                 progress=progress, t0=t0)
  try:
    path = datasets.ensure_built(cfg.data.name, cfg.data.config,
                                 cfg.data.data_dir or None,
                                 progress=progress)
    examples = systems_lib.produce(loaded, data_cfg, split, max_examples,
                                   progress=progress)
  except EvaluateError:
    raise
  except (FileNotFoundError, ValueError) as e:
    raise EvaluateError(str(e)) from None
  t_gen = time.perf_counter() - t0
  langs = list(dict.fromkeys(e.lang for e in examples))
  fitted = systems_lib.fit_baselines(path, langs, loaded.tokenizer,
                                     per_lang=baseline_train_examples,
                                     progress=progress)
  model_name = loaded.name
  ctx = context_lib.Context(
      examples=examples,
      systems=systems_lib.system_poses(examples, fitted, loaded.stats,
                                       model_name),
      model_name=model_name, stats=loaded.stats, tokenizer=loaded.tokenizer,
      mode=loaded.mode, dataset_metadata=_metadata(path),
      evaluate_cfg=evaluate_cfg, data_cfg=cfg.data, workdir=workdir,
      split=split, fps=systems_lib.FPS)
  out = run_evaluators(evaluators, ctx)
  stage1 = None
  if loaded.mode == "p2lg":
    # Level 1 of 3 (then stage 2 from the reference LangGloss and end to
    # end, rows of the pose tables): greedy, beam and language-given beam
    # against the reference.
    stage1 = _stage1_records(loaded, data_cfg, split, max_examples,
                             progress=progress)
  settings = {
      "workdir": str(workdir), "step": loaded.step, "split": split,
      "dataset": f"{cfg.data.name}/{cfg.data.config}",
      "max_examples_per_language": max_examples,
      "examples": {l: sum(e.lang == l for e in examples) for l in langs},
      "baseline_train_examples_per_language": baseline_train_examples,
      "generate": cfg.generate.to_dict(),
      "backtranslator": "none (skipped)",
      "evals": list(evaluators), **out["settings"],
  }
  if out["skipped"]:
    settings["skipped"] = out["skipped"]
  if stage1 is not None:
    settings["stage1"] = stage1
  settings["seconds"] = {"generate": round(t_gen, 1),
                         "evals": out["seconds"],
                         "total": round(time.perf_counter() - t0, 1)}
  given = bool(cfg.evaluate.get("p2lg_language_given", False))
  if loaded.mode == "p2lg":
    settings["p2lg_language_given"] = given
  note = " ".join([_systems_note(model_name, loaded.mode, given),
                   systems_lib.lexicon_note(examples, fitted), *out["notes"]])
  report = report_lib.build_report(
      out["results"], timing=systems_lib.own_timing(loaded), note=note,
      settings=settings)
  n = len(examples)
  markdown = (f"## {model_name} on {cfg.data.name}/{cfg.data.config} "
              f"{split} ({n} examples)\n\n" + report_lib.to_markdown(report))
  if stage1 is not None:
    markdown += ("\n### Stage 1: prompt -> LangGloss (prompts of held-out "
                 "templates; half name their sign language)\n\n"
                 + stage1_lib.to_markdown(stage1))
  json_path, md_path = report_lib.write_report(report,
                                               workdir / f"eval_{split}")
  md_path.write_text(markdown, encoding="utf-8")
  log.info("evaluation of %d examples took %.0f s", n,
           settings["seconds"]["total"])
  return {**report, "markdown": markdown, "json_path": json_path,
          "md_path": md_path, "samples": out["files"]}
