"""Back-translation for evaluation: a trained back-translator -> texts.

The back-translator is the main stack's model mode "backtranslate"
(model/backtranslator.py), trained like any model by `signllm train --config
experiments/backtranslation.py[:ARG]`. `load(W, tokenizer=...)` restores the
parameters of such a workdir and returns a `Translator` whose `translate`
reads normalised model-space frames [T, 151] (what the pose model produces
before de-normalisation, `normalize.to_frames` of a pose) and returns one
sentence each. Evaluation never trains: every reason a workdir cannot serve
(none given, missing, another model mode, no checkpoint, another tokenizer)
is one `BackTranslationError` naming the problem and the command that trains
a back-translator.
"""

import logging
import pathlib
from typing import Any, Sequence

import numpy as np

from signllm_jax import config as config_lib
from signllm_jax import skeleton
from signllm_jax import workdir as workdir_lib
from signllm_jax.model import backtranslator

log = logging.getLogger(__name__)

MODE = "backtranslate"
BATCH_SIZE = 32  # rows per compiled decoding call (one shape)
_FRAME_ROUND = 64  # padded frame lengths: multiples of this


class BackTranslationError(ValueError):
  """A back-translator that cannot be used, stated for the user."""


def train_command(workdir: str | pathlib.Path | None = None,
                  data: Any = None) -> str:
  """The command that trains a back-translator into `workdir`.

  `data` (a cfg.data) fills the dataset fields; they must be the evaluated
  model's, so that both share one tokenizer.
  """
  def field(name, placeholder):
    value = None if data is None else data.get(name)
    return placeholder if value in (None, "") else value
  where = workdir if workdir not in (None, "") else "W"
  return ("signllm train --config experiments/backtranslation.py:cpu "
          f"--workdir {where} "
          f"--config.data.name={field('name', 'NAME')} "
          f"--config.data.config={field('config', 'CONFIG')} "
          f"--config.data.data_dir={field('data_dir', 'DATA_DIR')}")


def _error(problem: str, workdir, data) -> BackTranslationError:
  where = workdir if workdir not in (None, "") else "W"
  return BackTranslationError(
      f"{problem}. Train a back-translator with `{train_command(where, data)}`"
      f" and pass --config.evaluate.backtranslation_workdir={where}")


def _load_workdir(workdir: pathlib.Path):
  """The one place that restores a workdir: its parameters alone (no
  optimizer), with .model, .tokenizer, .cfg and .step."""
  try:
    return workdir_lib.load_workdir(workdir)
  except workdir_lib.WorkdirError as e:
    raise BackTranslationError(str(e)) from None


def load(workdir: str | pathlib.Path, *, tokenizer,
         data: Any = None) -> "Translator":
  """The back-translator trained in `workdir` by `signllm train`.

  Args:
    workdir: a workdir of experiments/backtranslation.py (model.mode
      "backtranslate").
    tokenizer: the evaluated model's tokenizer; the back-translator must have
      been trained with the same one.
    data: optional cfg.data of the evaluated model, only to fill the dataset
      fields of the training command in error messages.

  Raises:
    BackTranslationError: no workdir, not a back-translator workdir, no
      checkpoint, or a tokenizer mismatch; the message says how to train one.
  """
  if workdir is None or not str(workdir).strip():
    raise _error("no back-translator given", None, data)
  workdir = pathlib.Path(workdir)
  if not workdir.is_dir():
    raise _error(f"back-translator {workdir}: no such folder", workdir, data)
  cfg_path = workdir / "config.json"
  if not cfg_path.is_file():
    raise _error(f"back-translator {workdir}: no config.json, so not a "
                 "training workdir", workdir, data)
  try:
    mode = config_lib.from_json(cfg_path.read_text(encoding="utf-8")
                                ).model.get("mode")
  except (ValueError, AttributeError) as e:
    raise _error(f"back-translator {workdir}: unreadable config.json ({e})",
                 workdir, data) from None
  if mode != MODE:
    raise _error(f"{workdir} is a model.mode={mode!r} workdir, not a "
                 f"back-translator (model.mode={MODE!r})", workdir, data)
  try:
    loaded = _load_workdir(workdir)
  except BackTranslationError as e:
    raise _error(f"back-translator {workdir}: {e}", workdir, data) from None
  if loaded.tokenizer != tokenizer:
    raise _error(
        f"back-translator {workdir} was trained with another tokenizer "
        f"(vocabulary {loaded.tokenizer.vocab_size}, the evaluated model's "
        f"{tokenizer.vocab_size}): train it on the evaluated model's dataset",
        workdir, data)
  return Translator(
      loaded.model, loaded.tokenizer,
      name=f"back-translator {workdir} (step {loaded.step})",
      max_frames=int(loaded.cfg.data.max_frames),
      max_text_len=int(loaded.cfg.data.max_text_len))


class Translator:
  """Greedy back-translation of normalised frame sequences."""

  def __init__(self, model: backtranslator.BackTranslator, tokenizer, *,
               name: str, max_frames: int, max_text_len: int,
               batch_size: int = BATCH_SIZE):
    self.model = model
    self.tokenizer = tokenizer
    self.name = name
    self.max_frames = max_frames  # the longest clips it was trained on
    self.max_text_len = max_text_len  # tokens, EOS included
    self.batch_size = batch_size

  def translate(self, frames_list: Sequence[np.ndarray]) -> list[str]:
    """One sentence per [T, 151] frame sequence (same order).

    All sequences are padded to one length (a multiple of 64, at most
    max_frames: longer ones are cut, with a warning) and decoded in batches
    of `batch_size`, so one program is compiled per call shape.
    """
    if not len(frames_list):
      return []
    lengths = []
    for i, f in enumerate(frames_list):
      shape = np.shape(f)
      if len(shape) != 2 or shape[1] != skeleton.FRAME_DIM or not shape[0]:
        raise ValueError(f"frames_list[{i}]: expected [T, "
                         f"{skeleton.FRAME_DIM}] with T > 0, got {shape}")
      lengths.append(shape[0])
    longest = max(lengths)
    t_pad = min(-(-longest // _FRAME_ROUND) * _FRAME_ROUND, self.max_frames)
    if longest > t_pad:
      log.warning("%d sequences are longer than the back-translator's %d "
                  "frames and are cut for it",
                  sum(t > t_pad for t in lengths), t_pad)
    n = len(frames_list)
    rows = -(-n // self.batch_size) * self.batch_size
    frames_NxTxF = np.zeros((rows, t_pad, skeleton.FRAME_DIM), np.float32)
    mask_NxT = np.zeros((rows, t_pad), bool)
    for i, f in enumerate(frames_list):
      t = min(len(f), t_pad)
      frames_NxTxF[i, :t] = np.asarray(f, np.float32)[:t]
      mask_NxT[i, :t] = True
    mask_NxT[n:, 0] = True  # filler rows: one real frame, no empty row
    texts = []
    eos = self.tokenizer.eos_id
    for s in range(0, rows, self.batch_size):
      ids_BxL = np.asarray(backtranslator.greedy_decode(
          self.model, frames_NxTxF[s:s + self.batch_size],
          mask_NxT[s:s + self.batch_size], max_len=self.max_text_len,
          eos_id=eos))
      texts.extend(self.tokenizer.decode(_until_eos(row, eos))
                   for row in ids_BxL)
    return texts[:n]


def _until_eos(ids, eos_id: int) -> list[int]:
  out = []
  for i in ids:
    if i == eos_id:
      break
    if i != backtranslator.PAD_ID:
      out.append(int(i))
  return out
