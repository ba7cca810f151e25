"""At most N evaluated examples per language, over single-language batches.

The evaluation loops (systems.produce, stage1.collect, tokenizer_eval)
skip a batch whose language is already full before running a model on it,
then keep the rows that still fit; padding rows (example_mask False) never
count.
"""

import collections

import numpy as np


class PerLanguageCap:
  """`max_examples` per language; None or <= 0 keeps every example."""

  def __init__(self, max_examples: int | None):
    self.limit = max_examples if max_examples and max_examples > 0 else None
    self.count: collections.Counter = collections.Counter()

  def full(self, lang_id) -> bool:
    return self.limit is not None and self.count[int(lang_id)] >= self.limit

  def take(self, lang_B, example_mask_B) -> list[int]:
    """The rows of a batch to evaluate, counted against their languages."""
    rows = []
    for row in np.flatnonzero(np.asarray(example_mask_B)):
      if not self.full(lang_B[row]):
        self.count[int(lang_B[row])] += 1
        rows.append(int(row))
    return rows
