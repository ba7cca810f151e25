"""What the page shows beside the model: baselines and the ground truth.

Both read the workdir's dataset (the config's data.name/config/data_dir,
else the folder W/assets/dataset.json names). A workdir whose dataset is
gone still serves the model: `load_references` then returns no systems and
a note saying why, which /info and the page show.

- Baselines (a list, so more can join), fitted per language on the train
  split by signllm_jax/baselines/fit.py:
  - retrieval: the training clip of the most similar training text (TF-IDF
    cosine). A P2LG prompt is matched as it is (the template's words are
    mostly absent from the texts' vocabulary, so the quoted sentence
    decides); a prompt whose language is unknown (no tag in the decoded
    LangGloss, no hint) searches every language's texts.
  - lexicon (when the train split has isolated signs): the input's words
    (MLSF) or the decoded LangGloss (P2LG) as isolated signs, joined;
    unknown words are skipped and named in the panel's note, and an input
    with none known gives no lexicon panel (the reason is returned).
- Ground truth: an input equal to a test-split text (MLSF: same language)
  or prompt (P2LG), after stripping outer whitespace, shows that clip.
"""

import dataclasses
import json
import logging
import pathlib
from typing import Sequence

import numpy as np
import tqdm

from signllm_jax.baselines import fit as baselines_fit
from signllm_jax.baselines import lexicon as lexicon_lib
from signllm_jax.baselines import retrieval as retrieval_lib
from signllm_jax.data import datasets
from signllm_jax.data import prompts

log = logging.getLogger(__name__)

# Training examples per language for retrieval (as evaluate's baselines):
# bounded start-up time on big corpora.
TRAIN_EXAMPLES = baselines_fit.TRAIN_EXAMPLES
TEST_SPLIT = "test"
EXAMPLES_PER_LANG = 3  # test sentences /info offers to try


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


@dataclasses.dataclass
class Produced:
  """One sequence from a system other than the model."""
  name: str  # "retrieval", "lexicon", "ground_truth"
  label: str  # for the page
  pose_TxJx3: np.ndarray
  note: str  # where it came from, e.g. the neighbour's text
  lang_gloss: str | None = None  # lexicon: the signs it joined


class Unavailable(ValueError):
  """A system has nothing for this input (the reason is shown)."""


class Retrieval:
  """Nearest-neighbour retrieval per language (pooled for unknown ones)."""

  name = "retrieval"
  label = "Retrieval (nearest training sentence)"

  def __init__(self, fitted: dict[str, baselines_fit.Fitted]):
    self.by_lang = {l: f.retrieval for l, f in fitted.items()}
    texts, poses, self.pool_langs = [], [], []
    for lang, nn in self.by_lang.items():
      texts += nn.train_texts
      poses += nn.train_poses
      self.pool_langs += [lang] * len(nn.train_texts)
    self.pool = retrieval_lib.NearestNeighbourBaseline().fit(texts, poses)

  def predict(self, source: str, lang: str, lang_gloss: str | None
              ) -> Produced:
    del lang_gloss
    if lang in self.by_lang:
      nn, i = self.by_lang[lang], self.by_lang[lang].predict_index(source)
    else:
      nn, i = self.pool, self.pool.predict_index(source)
      lang = self.pool_langs[i]
    return Produced(self.name, self.label, nn.train_poses[i].copy(),
                    f"nearest training text ({lang}): "
                    f"{nn.train_texts[i]!r}")


class Lexicon:
  """Isolated training signs of the input's words or glosses, joined."""

  name = "lexicon"
  label = "Lexicon (isolated signs, joined)"

  def __init__(self, fitted: dict[str, baselines_fit.Fitted]):
    self.by_lang = {l: f.lexicon for l, f in fitted.items()
                    if f.lexicon is not None}
    self.reasons = {l: f.lexicon_reason for l, f in fitted.items()
                    if f.lexicon is None}

  def predict(self, source: str, lang: str, lang_gloss: str | None
              ) -> Produced:
    if not lang:
      raise Unavailable("the sign language is unknown (the LangGloss has no "
                        "tag): choose one")
    lex = self.by_lang.get(lang)
    if lex is None:
      raise Unavailable(self.reasons.get(lang, f"no {lang} lexicon"))
    try:
      if lang_gloss is not None:  # P2LG: stage 1's glosses
        pose, rep = lex.predict_glosses(lang_gloss)
      else:
        pose, rep = lex.predict_text(source)
    except lexicon_lib.UnknownInputError as e:
      raise Unavailable(str(e)) from None
    return Produced(self.name, self.label, np.asarray(pose, np.float32),
                    rep.summary(), prompts.make_lang_gloss(lang, rep.used))


class GroundTruth:
  """Test-split clips by their exact text (MLSF) or prompt (P2LG)."""

  name = "ground_truth"
  label = "Ground truth (test split)"

  def __init__(self, source, keys: dict[tuple[str, str], int], by_text: bool):
    self.source = source  # random-access tfds data source of the split
    self.keys = keys  # (lang or "", text) -> record index
    self.by_text = by_text

  def lookup(self, source: str, lang: str) -> Produced | None:
    idx = self.keys.get((lang if self.by_text else "", source.strip()))
    if idx is None:
      return None
    rec = self.source[idx]
    gloss = _str(rec.get("gloss", ""))
    return Produced(self.name, self.label,
                    np.asarray(rec["pose"], np.float32),
                    f"test clip {_str(rec['id'])} ({_str(rec['lang'])})"
                    + (f", gloss: {gloss}" if gloss else ""))


@dataclasses.dataclass
class References:
  baselines: list  # systems with .name, .label, .predict(source, lang, gloss)
  ground_truth: "GroundTruth | None"
  examples: dict[str, list[str]]  # lang -> a few test inputs to try
  notes: list[str]


def dataset_path(cfg, workdir: pathlib.Path) -> pathlib.Path:
  """The workdir's dataset folder; FileNotFoundError naming both places."""
  try:
    return datasets.dataset_dir(cfg.data.name, cfg.data.config,
                                cfg.data.data_dir or None)
  except FileNotFoundError as e:
    info = pathlib.Path(workdir) / "assets" / "dataset.json"
    if info.is_file():
      path = pathlib.Path(json.loads(info.read_text(encoding="utf-8")).get(
          "path", ""))
      if (path / "dataset_info.json").is_file():
        return path
    raise FileNotFoundError(f"{e}; nor the folder {info} names") from None


def _ground_truth(path: pathlib.Path, langs: Sequence[str], key: str,
                  by_text: bool, progress: bool
                  ) -> tuple[GroundTruth, dict[str, list[str]]]:
  source = datasets.data_source(path, TEST_SPLIT)
  keys: dict[tuple[str, str], int] = {}
  examples: dict[str, list[str]] = {lang: [] for lang in langs}
  # One pass over the split (pose arrays are decoded too; the test split
  # is small next to train, and the pass is at start-up only).
  for i in tqdm.trange(len(source), desc="test index", disable=not progress):
    rec = source[i]
    lang, text = _str(rec["lang"]), _str(rec[key]).strip()
    if lang not in examples:
      continue
    keys.setdefault((lang if by_text else "", text), i)
    if len(examples[lang]) < EXAMPLES_PER_LANG:
      examples[lang].append(text)
  return GroundTruth(source, keys, by_text), examples


def load_references(loaded, *, per_lang: int = TRAIN_EXAMPLES,
                    progress: bool = True) -> References:
  """Baselines, ground truth and examples for a loaded workdir."""
  p2lg = loaded.mode == "p2lg"
  try:
    path = dataset_path(loaded.cfg, loaded.workdir)
  except FileNotFoundError as e:
    return References([], None, {}, [
        f"no baselines and no ground truth: the workdir's dataset is not "
        f"found ({e})"])
  notes, systems = [], []
  try:
    fitted = baselines_fit.fit(path, loaded.langs, loaded.tokenizer,
                               per_lang=per_lang, progress=progress)
  except ValueError as e:  # FitError, or no train split
    notes.append(f"no baselines: {e}")
  else:
    systems.append(Retrieval(fitted))
    lexicon = Lexicon(fitted)
    if lexicon.by_lang:
      systems.append(lexicon)
    for lang, reason in lexicon.reasons.items():
      notes.append(f"no {lang} lexicon: {reason}")
  try:
    gt, examples = _ground_truth(path, loaded.langs,
                                 "prompt" if p2lg else "text", not p2lg,
                                 progress)
  except ValueError as e:
    gt, examples = None, {}
    notes.append(f"no ground truth: {e}")
  return References(systems, gt, examples, notes)
