"""Gloss-lexicon baseline: a sentence as its glosses' isolated signs, joined.

Fitting (`LexiconBaseline.fit`): an isolated-sign example has exactly one
gloss token and at most one span (SynthSign: ~30% of each split, text = the
concept's citation form, data/synth/corpus.py). Per gloss one clip is kept,
chosen by `choice`:
- "medoid" (default): the clip with the smallest summed distance to the
  gloss's other clips (each cut to its sign and resampled to
  `MEDOID_SAMPLES` frames): the most typical performance, whoever signs it.
- "mean_signer": the clip whose signer is nearest the mean signer of the
  language: a clip's body (the 8 body joints averaged over its frames)
  against the mean body of all isolated clips, for sentences from similar
  bodies.
On SynthSign small test (8 x 300 examples, experiments/lexicon_baseline.py)
the two tie on the recogniser (DTW-aligned 99.51% vs 99.46%, span-scaled
97.47% vs 97.54%, averaged over the languages: a few glosses of 5359) and
the medoid has the lower DTW (5.04 vs 5.15); the smoother bodies the mean
signer was meant to give did not show (neck and shoulder travel / ground
truth: 1.03 / 1.06 vs 1.10 / 0.92 on ASL / GSL). The medoid is the default:
the recogniser is signer-invariant, what it rewards is a typical sign.

Timing rule (`join`): each clip is cut to its sign, the example's span when
it has one, else the frames between the first and the last frame whose hands
move faster than `REST_SPEED` x the clip's fastest hand motion (the rest
lead-in and lead-out). The first clip keeps its lead-in from rest, the last
its lead-out, so a sentence starts and ends at rest like the corpus'.
Consecutive clips overlap by b = min(blend_frames, len_a // 2, len_b // 2)
frames, cross-faded linearly, so the output has sum(clip lengths) - sum(b)
frames (`joined_length`).

Inputs: a gloss sequence (tokens, a space-separated gloss string or a
LangGloss "ASL W1 ASL W2", e.g. Prompt2LangGloss stage 1's output) or plain
text, whose NFC-normalised, lower-cased words are matched against the
isolated examples' citation texts, longest phrase first (a citation form
may have several words). An unknown gloss or word is skipped and reported
(`LexiconReport.skipped`); when nothing is known, `UnknownInputError`.
"""

import dataclasses
import unicodedata
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.baselines import retrieval

CHOICES = ("medoid", "mean_signer")
BLEND_FRAMES = 4  # 0.16 s at 25 fps: shorter than any transition of the corpus
REST_SPEED = 0.1
MEDOID_SAMPLES = 16
_HANDS = np.r_[skeleton.LEFT_HAND, skeleton.RIGHT_HAND]


class UnknownInputError(ValueError):
  """No gloss or word of the input is in the lexicon."""


@dataclasses.dataclass
class LexiconReport:
  """What one production used and skipped.

  Attributes:
    used: the glosses produced, in order.
    skipped: the unknown glosses (or words, for text input), in order.
    spans: [len(used), 2] [start, end) frames of each sign in the output.
  """
  used: list[str]
  skipped: list[str]
  spans: np.ndarray

  def summary(self) -> str:
    s = f"{len(self.used)} signs ({' '.join(self.used)})"
    if self.skipped:
      s += (f", skipped {len(self.skipped)} unknown: "
            f"{' '.join(self.skipped)}")
    return s


@dataclasses.dataclass(frozen=True)
class Clip:
  """The chosen isolated clip of one gloss."""
  gloss: str
  text: str
  pose_TxJx3: np.ndarray
  start: int  # the sign: frames [start, end); before: lead-in from rest
  end: int
  candidates: int  # isolated clips the gloss had


def _str(v) -> str:
  return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _nfc(s: str) -> str:
  return unicodedata.normalize("NFC", s)


def is_isolated(example: Mapping[str, Any]) -> bool:
  """One gloss token and at most one span: an isolated-sign example."""
  if len(_str(example.get("gloss", "")).split()) != 1:
    return False
  spans = np.asarray(example.get("spans", np.zeros((0, 2)))).reshape(-1, 2)
  return len(spans) <= 1


def hand_speed(pose_TxJx3: np.ndarray) -> np.ndarray:
  """[T-1] mean hand-joint displacement between frames (NaN-aware)."""
  step_TxH = np.linalg.norm(np.diff(pose_TxJx3[:, _HANDS], axis=0), axis=-1)
  valid = np.isfinite(step_TxH)
  count = valid.sum(1)
  total = np.where(valid, step_TxH, 0.0).sum(1)
  return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def sign_range(pose_TxJx3: np.ndarray, spans_Sx2=None) -> tuple[int, int]:
  """[start, end) of the sign in an isolated clip (module docstring)."""
  t = len(pose_TxJx3)
  spans = np.asarray(spans_Sx2 if spans_Sx2 is not None else
                     np.zeros((0, 2)), np.int64).reshape(-1, 2)
  if len(spans) == 1:
    s, e = int(spans[0, 0]), int(spans[0, 1])
    if 0 <= s < e <= t:
      return s, e
  if t < 3:
    return 0, t
  speed = hand_speed(pose_TxJx3)
  if not speed.max() > 0:
    return 0, t
  moving = np.flatnonzero(speed > REST_SPEED * speed.max())
  return int(moving[0]), int(moving[-1]) + 2


def _resample(pose_TxJx3: np.ndarray, n: int) -> np.ndarray:
  idx = np.rint(np.linspace(0, len(pose_TxJx3) - 1, n)).astype(np.int64)
  return pose_TxJx3[idx]


def _nan_mean_abs(a: np.ndarray, b: np.ndarray) -> float:
  d = np.abs(a - b)
  ok = np.isfinite(d)
  return float(d[ok].mean()) if ok.any() else np.inf


def _choose(clips: Sequence[tuple], choice: str, mean_body: np.ndarray
            ) -> int:
  """Index of the kept clip among (pose, start, end, text) candidates."""
  if len(clips) == 1:
    return 0
  if choice == "mean_signer":
    dist = [_nan_mean_abs(np.nanmean(p[:, :skeleton.NUM_BODY], 0), mean_body)
            for p, _, _, _ in clips]
  else:
    cut = [_resample(p[s:e], MEDOID_SAMPLES) for p, s, e, _ in clips]
    dist = [sum(_nan_mean_abs(a, b) for b in cut) for a in cut]
  return int(np.argmin(dist))  # first on ties: deterministic


def _cross_fade(a_BxJx3: np.ndarray, b_BxJx3: np.ndarray) -> np.ndarray:
  """Linear cross-fade a -> b; a joint missing on one side takes the other."""
  n = len(a_BxJx3)
  w = (np.arange(1, n + 1) / (n + 1))[:, None, None]
  mixed = (1 - w) * a_BxJx3 + w * b_BxJx3
  mixed = np.where(np.isnan(a_BxJx3), b_BxJx3, mixed)
  return np.where(np.isnan(b_BxJx3), a_BxJx3, mixed)


def blend_lengths(lengths: Sequence[int], blend_frames: int) -> list[int]:
  """The overlap at each join: min(blend_frames, len_a // 2, len_b // 2)."""
  return [max(0, min(blend_frames, a // 2, b // 2))
          for a, b in zip(lengths, lengths[1:])]


def joined_length(lengths: Sequence[int], blend_frames: int) -> int:
  """Frames of `join` output for pieces of these lengths (the timing rule)."""
  return int(sum(lengths) - sum(blend_lengths(lengths, blend_frames)))


def join(pieces: Sequence[np.ndarray], blend_frames: int
         ) -> tuple[np.ndarray, list[int]]:
  """Concatenates [T_i, J, 3] pieces, cross-fading each join.

  Returns the pose and the frame where each piece starts in it.
  """
  if not pieces:
    raise ValueError("join: no pieces")
  blends = blend_lengths([len(p) for p in pieces], blend_frames)
  out = np.asarray(pieces[0], np.float32)
  starts = [0]
  for piece, b in zip(pieces[1:], blends):
    piece = np.asarray(piece, np.float32)
    starts.append(len(out) - b)
    if b:
      out = np.concatenate([out[:-b], _cross_fade(out[-b:], piece[:b]),
                            piece[b:]])
    else:
      out = np.concatenate([out, piece])
  return out, starts


def parse_glosses(glosses: str | Sequence[str]) -> list[str]:
  """Gloss tokens of a gloss string, a token list or a LangGloss."""
  tokens = glosses.split() if isinstance(glosses, str) else [
      t for g in glosses for t in str(g).split()]
  if (tokens and len(tokens) % 2 == 0
      and all(t in languages.BY_CODE for t in tokens[::2])):
    tokens = tokens[1::2]  # "ASL W1 ASL W2": drop the language tags
  return tokens


class LexiconBaseline:
  """Isolated signs of the glosses, joined (see the module docstring)."""

  def __init__(self, *, blend_frames: int = BLEND_FRAMES,
               choice: str = "medoid"):
    if choice not in CHOICES:
      raise ValueError(f"lexicon choice must be one of {', '.join(CHOICES)}, "
                       f"got {choice!r}")
    if int(blend_frames) < 0:
      raise ValueError(f"blend_frames must be >= 0, got {blend_frames}")
    self.blend_frames = int(blend_frames)
    self.choice = choice
    self.lang = ""
    self.clips: dict[str, Clip] = {}
    self.phrases: dict[tuple[str, ...], str] = {}
    self.max_phrase = 0

  def fit(self, examples: Iterable[Mapping[str, Any]]) -> "LexiconBaseline":
    """Keeps one clip per gloss of the isolated examples (others ignored).

    Raises:
      ValueError: no isolated-sign example, examples of several languages,
        or a malformed pose (named by the example's id).
    """
    by_gloss: dict[str, list[tuple]] = {}
    bodies, langs = [], set()
    for i, ex in enumerate(examples):
      if not is_isolated(ex):
        continue
      where = f"example {i} ({_str(ex.get('id', '?'))})"
      pose = skeleton.check_pose(np.asarray(ex["pose"], np.float32), where)
      if not len(pose):
        raise ValueError(f"{where}: an isolated sign with no frames")
      langs.add(_str(ex.get("lang", "")))
      s, e = sign_range(pose, ex.get("spans"))
      gloss = _nfc(_str(ex["gloss"]).strip())
      by_gloss.setdefault(gloss, []).append(
          (pose, s, e, _str(ex.get("text", ""))))
      bodies.append(np.nanmean(pose[:, :skeleton.NUM_BODY], 0))
    if len(langs) > 1:
      raise ValueError(f"a lexicon holds one language's signs, got examples "
                       f"of {', '.join(sorted(langs))}")
    if not by_gloss:
      raise ValueError("no isolated-sign examples (one gloss token, at most "
                       "one span) to build a lexicon from")
    self.lang = langs.pop()
    mean_body = np.nanmean(np.stack(bodies), 0)
    self.clips, self.phrases = {}, {}
    for gloss, cands in by_gloss.items():
      pose, s, e, text = cands[_choose(cands, self.choice, mean_body)]
      self.clips[gloss] = Clip(gloss=gloss, text=text, pose_TxJx3=pose,
                               start=s, end=e, candidates=len(cands))
      key = tuple(retrieval.words(text))
      if key:
        self.phrases.setdefault(key, gloss)  # first seen on a shared text
    self.max_phrase = max(map(len, self.phrases), default=0)
    return self

  def _check_fitted(self):
    if not self.clips:
      raise ValueError("LexiconBaseline used before fit")

  def lookup(self, token: str) -> str | None:
    """The lexicon's gloss for a token (exact, then upper-case), or None."""
    token = _nfc(token)
    for t in (token, token.upper()):
      if t in self.clips:
        return t
    return None

  def glosses_of_text(self, text: str) -> tuple[list[str], list[str]]:
    """(glosses, unknown words): longest citation phrase first."""
    self._check_fitted()
    w = retrieval.words(text)
    glosses, unknown, i = [], [], 0
    while i < len(w):
      for n in range(min(self.max_phrase, len(w) - i), 0, -1):
        gloss = self.phrases.get(tuple(w[i:i + n]))
        if gloss is not None:
          glosses.append(gloss)
          i += n
          break
      else:
        unknown.append(w[i])
        i += 1
    return glosses, unknown

  def predict_glosses(self, glosses: str | Sequence[str]
                      ) -> tuple[np.ndarray, LexiconReport]:
    """[T, J, 3] pose of a gloss sequence and what was used / skipped.

    Raises:
      UnknownInputError: no gloss is known (or there is none).
    """
    self._check_fitted()
    tokens = parse_glosses(glosses)
    found = [(t, self.lookup(t)) for t in tokens]
    used = [g for _, g in found if g is not None]
    skipped = [t for t, g in found if g is None]
    if not used:
      shown = " ".join(tokens[:12]) or "empty"
      raise UnknownInputError(
          f"none of the {len(tokens)} glosses ({shown}) is in the "
          f"{self.lang} lexicon of {len(self.clips)} signs")
    return self._produce(used, skipped)

  def predict_text(self, text: str) -> tuple[np.ndarray, LexiconReport]:
    """[T, J, 3] pose of a text by citation-form lookup; see predict_glosses.
    """
    used, skipped = self.glosses_of_text(text)
    if not used:
      raise UnknownInputError(
          f"no word of {text!r} is the citation form of a sign in the "
          f"{self.lang} lexicon of {len(self.clips)} signs"
          + (f" (unknown: {' '.join(skipped[:12])})" if skipped else ""))
    return self._produce(used, skipped)

  def _produce(self, glosses: list[str], skipped: list[str]
               ) -> tuple[np.ndarray, LexiconReport]:
    clips = [self.clips[g] for g in glosses]
    last = len(clips) - 1
    cuts = [(0 if i == 0 else c.start,
             len(c.pose_TxJx3) if i == last else c.end)
            for i, c in enumerate(clips)]
    pieces = [c.pose_TxJx3[s:e] for c, (s, e) in zip(clips, cuts)]
    pose, starts = join(pieces, self.blend_frames)
    blends = blend_lengths([len(p) for p in pieces], self.blend_frames)
    spans = np.zeros((len(clips), 2), np.int64)
    spans[0, 0] = clips[0].start
    for j, b in enumerate(blends):  # consecutive signs meet mid-blend
      spans[j, 1] = spans[j + 1, 0] = starts[j + 1] + b // 2
    spans[last, 1] = starts[last] + clips[last].end - cuts[last][0]
    return pose, LexiconReport(used=glosses, skipped=skipped, spans=spans)
