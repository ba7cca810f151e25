"""Compact per-language tables of `signllm evaluate` JSON reports.

  python experiments/summarize_eval.py runs/mlsf_cpu/eval_test.json
prints BLEU-4 / DTW-MJE per system, then recogniser / hand motion.

  python experiments/summarize_eval.py --compare tokens=A.json \
      continuous=B.json [p2lg_ref="C.json@reference LangGloss"] \
      [--metrics gloss_accuracy,bleu4,hand_travel,dtw_mje]
prints one table per metric: a row per language, a column for each named
report's model (own timing, or the row "MODEL, VARIANT" after @) and then
the first report's baselines. Models
compare only under one evaluator: the reports must share their
back-translator for BLEU (the caller's to ensure; docs/RESULTS.md says which).
"""

import argparse
import json
import sys


def _num(value, fmt: str) -> str:
  """A metric absent from the report (its evaluator skipped) prints "-"."""
  return "-" if value is None else format(value, fmt)


def _bleu_dtw(m: dict) -> str:
  return f"{_num(m.get('bleu4'), '.2f')} / {_num(m.get('dtw_mje'), '.3f')}"


def _gloss_motion(m: dict) -> str:
  return (f"{_num(m.get('gloss_accuracy'), '.0f')} / "
          f"{_num(m.get('hand_motion_ratio'), '.2f')}")


def _table(langs: dict, systems: list, header: list, cell) -> list[str]:
  lines = ["| lang | " + " | ".join(header) + " |",
           "|---|" + "---|" * len(systems)]
  for lang, rows in langs.items():
    lines.append(f"| {lang} | " + " | ".join(cell(rows[s]) for s in systems)
                 + " |")
  return lines


def summarize(report: dict) -> str:
  langs = report["languages"]
  systems = list(next(iter(langs.values())))
  short = [s.split(" (")[0] + (", oracle length" if "oracle" in s else "")
           if s.startswith("SignLLM") else s for s in systems]
  lines = _table(langs, systems, short, _bleu_dtw)
  lines += ["", "Gloss accuracy (%, exact recogniser) / hand-motion ratio:", ""]
  lines += _table(langs, systems, short, _gloss_motion)
  return "\n".join(lines)


METRIC_FORMATS = {"gloss_accuracy": ".1f", "gloss_accuracy_dtw": ".1f",
                  "bleu4": ".2f", "hand_travel": ".2f",
                  "hand_motion_ratio": ".2f", "dtw_mje": ".3f"}


def _model_row(systems, variant: str = "") -> str:
  """The report's model in its own timing, or its row "MODEL, {variant}"
  ("oracle length"; a P2LG report's "reference LangGloss")."""
  models = [s for s in systems if s.startswith("SignLLM")]
  if variant:
    own = [s for s in models if s.endswith(f", {variant}")]
  else:
    own = [s for s in models if ", " not in s.split(")")[-1]]
  if len(own) != 1:
    raise ValueError(f"expected one model row {variant or 'in own timing'}"
                     f", got {own} of {models}")
  return own[0]


def compare(named_reports: list[tuple[str, dict]],
            metrics=("gloss_accuracy", "bleu4", "hand_travel", "dtw_mje")
            ) -> str:
  """Tables, one per metric, of several reports' models beside the first
  report's baselines; languages missing from a report are an error. A
  name "NAME@VARIANT" takes that report's row "MODEL, VARIANT"."""
  if not named_reports:
    raise ValueError("no reports to compare")
  first = named_reports[0][1]["languages"]
  baselines = [s for s in next(iter(first.values()))
               if not s.startswith("SignLLM")]
  header = [name.partition("@")[0] for name, _ in named_reports] + baselines
  out = []
  for metric in metrics:
    fmt = METRIC_FORMATS.get(metric, ".3f")
    out += [f"{metric}:", "", "| lang | " + " | ".join(header) + " |",
            "|---|" + "---|" * len(header)]
    for lang in first:
      cells = []
      for name, report in named_reports:
        rows = report["languages"].get(lang)
        if rows is None:
          raise ValueError(f"report {name!r} has no {lang}")
        row = _model_row(rows, name.partition("@")[2])
        cells.append(_num(rows[row].get(metric), fmt))
      cells += [_num(first[lang][b].get(metric), fmt) for b in baselines]
      out.append(f"| {lang} | " + " | ".join(cells) + " |")
    out.append("")
  return "\n".join(out).rstrip()


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("reports", nargs="+",
                 help="one report, or NAME=REPORT.json with --compare")
  p.add_argument("--compare", action="store_true")
  p.add_argument("--metrics", default="gloss_accuracy,bleu4,hand_travel,"
                 "dtw_mje")
  args = p.parse_args(argv)
  if not args.compare:
    if len(args.reports) != 1:
      p.error("one report, or --compare NAME=REPORT.json ...")
    with open(args.reports[0], encoding="utf-8") as f:
      print(summarize(json.load(f)))
    return
  named = []
  for item in args.reports:
    name, sep, spec = item.partition("=")
    if not sep:
      p.error(f"--compare takes NAME=REPORT.json[@VARIANT], got {item!r}")
    path, _, variant = spec.partition("@")
    with open(path, encoding="utf-8") as f:
      named.append((f"{name}@{variant}" if variant else name, json.load(f)))
  print(compare(named, tuple(args.metrics.split(","))))


if __name__ == "__main__":
  main(sys.argv[1:])
