"""The trained pose tokenizer a token-decoder run predicts the codes of.

A run with model.pose_decoder = "tokens" names the tokenizer's training
workdir in model.tokenizer_workdir. Before anything is built, `adopt`
copies the tokenizer's architecture fields into the run's config (so the
run's own config.json rebuilds the same tokenizer for inference) and checks
that both normalise poses alike; after the fresh state exists, train.py
copies the tokenizer's weights into it (state.install_pose_tokenizer). From
then on the weights live in the run's checkpoints: its workdir does not need
the tokenizer's any more. `assets/pose_tokenizer.json` records the source.
"""

import logging
import pathlib

import numpy as np

from signllm_jax import workdir as workdir_lib

log = logging.getLogger(__name__)

# The fields that define the tokenizer's architecture (experiments/base.py).
FIELDS = ("tokenizer_channels", "tokenizer_downsample", "fsq_levels")
RECORD = "pose_tokenizer.json"


class TokenizerSourceError(ValueError):
  pass


def adopt(cfg):
  """The loaded tokenizer workdir (workdir.LoadedWorkdir), with its FIELDS
  written into cfg.model, or None for a continuous decoder."""
  m = cfg.model
  if m.get("pose_decoder", "continuous") != "tokens":
    return None
  if not m.tokenizer_workdir:
    raise TokenizerSourceError(
        "model.pose_decoder=tokens predicts a trained pose tokenizer's "
        "codes: set model.tokenizer_workdir to its workdir (train one with "
        "`signllm train --config experiments/pose_tokenizer.py`)")
  try:
    loaded = workdir_lib.load_workdir(m.tokenizer_workdir)
  except workdir_lib.WorkdirError as e:
    raise TokenizerSourceError(f"model.tokenizer_workdir: {e}") from None
  if loaded.mode != "pose_tokenizer":
    raise TokenizerSourceError(
        f"model.tokenizer_workdir={m.tokenizer_workdir} is a "
        f"{loaded.mode!r} workdir, not a pose tokenizer")
  src = loaded.cfg
  if src.data.pose_stats != cfg.data.pose_stats:
    raise TokenizerSourceError(
        f"the tokenizer normalised poses with data.pose_stats="
        f"{src.data.pose_stats!r}, this run with {cfg.data.pose_stats!r}")
  for field in FIELDS:
    value = src.model[field]
    m[field] = (tuple(int(v) for v in value) if field == "fsq_levels"
                else value)
  return loaded


def check_stats(loaded, stats) -> None:
  """Both runs must map skeleton units to the same normalised frames."""
  a, b = loaded.stats, stats
  if not (np.allclose(a.mean_Jx3, b.mean_Jx3, atol=1e-5)
          and abs(a.std - b.std) <= 1e-5 * max(abs(b.std), 1.0)):
    raise TokenizerSourceError(
        f"the tokenizer in {loaded.workdir} was trained on poses normalised "
        f"with other statistics (std {a.std:.6f} vs this dataset's "
        f"{b.std:.6f}): train it on the same dataset")


def record(workdir: pathlib.Path, loaded) -> None:
  """assets/pose_tokenizer.json: where the weights came from."""
  workdir_lib.record_source(workdir, RECORD, loaded, **{
      f: (list(loaded.cfg.model[f]) if f == "fsq_levels"
          else loaded.cfg.model[f]) for f in FIELDS})
