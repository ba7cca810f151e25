"""Writes SynthSign examples in the Prompt2Sign file layout.

`{out_dir}/{lang}/{split}.skels/.text/.gloss/.files`, values in the
Prompt2Sign convention (divided by 9, counter i/T for i = 1..T), so every
reader of real Prompt2Sign data reads the synthetic corpus unchanged.

Prompt2Sign writes missing values as the sentinel 0.01600, so a real
coordinate that rounds to it (value / 9 in [0.015995, 0.016005)) would read
back as missing or zero; such values are nudged to 0.01601 x 9 (a change of
at most 1.4e-4 skeleton units) instead of being lost.
"""

import os
import pathlib
from collections.abc import Iterable

import numpy as np

from signllm_jax import languages
from signllm_jax.data import skels


def _avoid_sentinel(pose_TxJx3: np.ndarray) -> np.ndarray:
  conv = skels.PROMPT2SIGN
  written = np.round(pose_TxJx3.astype(np.float64) / conv.divisor,
                     conv.decimals)
  clash = written == skels.SENTINEL
  if not clash.any():
    return pose_TxJx3
  pose = pose_TxJx3.copy()
  pose[clash] = (skels.SENTINEL + 10.0 ** -conv.decimals) * conv.divisor
  return pose


def write_prompt2sign_layout(examples: Iterable[dict],
                             out_dir: str | os.PathLike, split: str, *,
                             progress: bool = False
                             ) -> dict[str, dict[str, pathlib.Path]]:
  """Writes the examples of each language to `{out_dir}/{lang}/{split}.*`.

  Examples are grouped by language in their order of arrival; a split's
  files are written in one go (`skels.write_split`), so the examples of one
  language must fit in memory. Returns {lang: {extension: path}}.
  """
  by_lang: dict[str, list[skels.Record]] = {}
  for ex in examples:
    lang = ex["lang"]
    languages.lang_index(lang)
    by_lang.setdefault(lang, []).append(
        skels.Record(id=ex["id"], text=ex["text"],
                     pose=_avoid_sentinel(ex["pose"]),
                     gloss=ex["gloss"]))
  out = pathlib.Path(out_dir)
  return {lang: skels.write_split(out / lang, split, records,
                                  convention="prompt2sign", progress=progress)
          for lang, records in by_lang.items()}
