"""What every evaluator reads and returns (no evaluation logic here).

`Context`: the evaluated examples and, per system (the model in its own
timing, the model with oracle timing, the baselines), one produced pose per
example, aligned with the examples; plus what the metrics need to interpret
them (pose statistics, tokenizer, model mode, the dataset's capabilities).
`Result`: one evaluator's metrics as {lang: {system: {metric: value}}}
(report.COLUMNS keys, plus extras kept in the JSON), a sentence for the
report's note, settings to record, files written, or the reason it skipped.
"""

import dataclasses
import pathlib
from typing import Any

import numpy as np

from signllm_jax.data import normalize


class EvaluateError(ValueError):
  """A problem with the workdir, data or settings, stated for the user."""


@dataclasses.dataclass
class Example:
  """One evaluated example: its reference and the model's two productions."""
  idx: int
  lang: str
  text: str
  ref_TxJx3: np.ndarray
  pred_TxJx3: np.ndarray
  oracle_TxJx3: np.ndarray
  sign_ids: np.ndarray
  spans: np.ndarray
  lang_gloss_ref: str = ""
  lang_gloss_pred: str | None = None
  # Prompt2LangGloss: stage 2 alone, from the reference LangGloss.
  ref_gloss_TxJx3: np.ndarray | None = None


@dataclasses.dataclass
class Context:
  """Everything an evaluator may read; evaluators never modify it.

  Attributes:
    examples: the evaluated examples, in split order.
    systems: {system name: [pose per example]} aligned with `examples`;
      report.GROUND_TRUTH holds the references.
    model_name: the model's row (its own timing); `oracle_name` its row
      with ground-truth timing.
    stats: the model's pose statistics (normalisation, missing joints).
    tokenizer: the model's tokenizer.
    mode: the model mode ("mlsf", "p2lg", ...).
    dataset_metadata: the dataset's metadata.json ({} when it has none);
      evaluators read capabilities from it (e.g. a SynthSign lexicon).
    evaluate_cfg: cfg.evaluate (split, backtranslation_workdir, ...).
    data_cfg: cfg.data (named in messages, e.g. how to train a
      back-translator on the same dataset).
    workdir: the evaluated workdir (files go under it).
    split: the evaluated split.
    fps: frames per second of the poses.
  """
  examples: list[Example]
  systems: dict[str, list[np.ndarray]]
  model_name: str
  stats: normalize.PoseStats
  tokenizer: Any
  mode: str
  dataset_metadata: dict[str, Any]
  evaluate_cfg: Any
  data_cfg: Any
  workdir: pathlib.Path
  split: str
  fps: float

  def __post_init__(self):
    n = len(self.examples)
    for name, poses in self.systems.items():
      if len(poses) != n:
        raise ValueError(f"system {name!r} has {len(poses)} poses for {n} "
                         "examples")

  @property
  def oracle_name(self) -> str:
    return oracle_row(self.model_name)

  @property
  def langs(self) -> list[str]:
    """The examples' languages, in order of first appearance."""
    return list(dict.fromkeys(e.lang for e in self.examples))

  def rows(self, lang: str) -> list[int]:
    """Indices of `lang`'s examples."""
    return [i for i, e in enumerate(self.examples) if e.lang == lang]


def oracle_row(model_name: str) -> str:
  return f"{model_name}, oracle length"


def reference_gloss_row(model_name: str) -> str:
  """Prompt2LangGloss stage 2 alone: poses from the reference LangGloss."""
  return f"{model_name}, reference LangGloss"


@dataclasses.dataclass
class Result:
  """One evaluator's output (see the module docstring)."""
  metrics: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(
      default_factory=dict)
  note: str = ""
  settings: dict[str, Any] = dataclasses.field(default_factory=dict)
  files: list[pathlib.Path] = dataclasses.field(default_factory=list)
  skipped: str | None = None  # why it did not apply; None when it ran

  @classmethod
  def skip(cls, reason: str, note: str = "") -> "Result":
    return cls(note=note, skipped=reason)
