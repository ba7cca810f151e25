"""Compact per-language table (BLEU-4 / DTW-MJE per system) of an
`signllm evaluate` JSON report, as the README shows it.

  python experiments/summarize_eval.py runs/mlsf_cpu/eval_test.json
"""

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


if __name__ == "__main__":
  if len(sys.argv) != 2:
    sys.exit(__doc__)
  with open(sys.argv[1], encoding="utf-8") as f:
    print(summarize(json.load(f)))
