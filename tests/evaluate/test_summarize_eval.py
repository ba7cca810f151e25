"""Tests of experiments/summarize_eval.py on stored and partial reports."""

import json

from experiments import summarize_eval
from signllm_jax.evaluate import report as report_lib
from tests import testing

STORED = "experiments/results/mlsf_cpu_small_eval_test.json"


def test_stored_report_rows():
  report = json.loads((testing.REPO_ROOT / STORED).read_text())
  lines = summarize_eval.summarize(report).splitlines()
  assert lines[0] == ("| lang | SignLLM-MLSF | SignLLM-MLSF, oracle length "
                      "| mean pose | nearest neighbour | ground truth |")
  asl = report["languages"]["ASL"]
  gt = asl[report_lib.GROUND_TRUTH]
  assert lines[2].startswith("| ASL | ")
  assert lines[2].endswith(f"| {gt['bleu4']:.2f} / 0.000 |")
  motion = next(l for l in lines[11:] if l.startswith("| ASL | "))
  assert motion.endswith(f"| {gt['gloss_accuracy']:.0f} / 1.00 |")


def test_skipped_evaluators_print_dashes():
  # A report of the pose_distance evaluator alone (no BLEU, gloss, motion).
  report = report_lib.build_report(
      {"ASL": {"SignLLM-MLSF (cpu, step 9)": {"examples": 2, "dtw": 4.0,
                                              "dtw_mje": 0.25},
               report_lib.GROUND_TRUTH: {"examples": 2, "dtw": 0.0,
                                         "dtw_mje": 0.0}}},
      timing="predicted")
  lines = summarize_eval.summarize(report).splitlines()
  assert lines[2] == "| ASL | - / 0.250 | - / 0.000 |"
  assert lines[-1] == "| ASL | - / - | - / - |"


def test_compare_puts_models_beside_the_first_reports_baselines():
  def report(model, accuracy):
    return report_lib.build_report(
        {"ASL": {f"SignLLM-{model} (cpu, step 9)": {
                     "examples": 2, "gloss_accuracy": accuracy},
                 f"SignLLM-{model} (cpu, step 9), oracle length": {
                     "examples": 2, "gloss_accuracy": 1.0},
                 "nearest neighbour": {"examples": 2, "gloss_accuracy": 60.0},
                 report_lib.GROUND_TRUTH: {"examples": 2,
                                           "gloss_accuracy": 99.5}}},
        timing="predicted")
  text = summarize_eval.compare([("tokens", report("A", 84.25)),
                                 ("continuous", report("B", 17.0))],
                                metrics=("gloss_accuracy", "bleu4"))
  lines = text.splitlines()
  assert lines[2] == ("| lang | tokens | continuous | nearest neighbour "
                      f"| {report_lib.GROUND_TRUTH} |")
  assert lines[4] == "| ASL | 84.2 | 17.0 | 60.0 | 99.5 |"
  assert lines[-1] == "| ASL | - | - | - | - |"  # no BLEU in these reports


def test_compare_takes_a_named_variant_row():
  """A P2LG report has two model rows in own timing: end to end and
  stage 2 from the reference LangGloss; "@VARIANT" picks the second."""
  model = "SignLLM-P2LG (cpu, step 9)"
  report = report_lib.build_report(
      {"ASL": {model: {"examples": 2, "gloss_accuracy": 80.0},
               f"{model}, reference LangGloss": {"examples": 2,
                                                 "gloss_accuracy": 90.0},
               report_lib.GROUND_TRUTH: {"examples": 2,
                                         "gloss_accuracy": 99.5}}},
      timing="predicted")
  text = summarize_eval.compare(
      [("e2e", report), ("ref@reference LangGloss", report)],
      metrics=("gloss_accuracy",))
  lines = text.splitlines()
  assert lines[2] == f"| lang | e2e | ref | {report_lib.GROUND_TRUTH} |"
  assert lines[4] == "| ASL | 80.0 | 90.0 | 99.5 |"
