"""The exact SynthSign sign recogniser used to score produced poses.

`gloss_accuracy` cuts a produced pose into the reference's sign spans (scaled
to the produced length), describes each segment by signer-invariant features
and returns the fraction of segments whose nearest sign of the language's
lexicon is the true one. The references are each sign's canonical rendering
(the canonical signer, no noise, citation form).

Features of a segment (its central part, resampled to `SAMPLES` frames):
- both wrists relative to the neck, in half shoulder widths (where the hands
  are and how they move);
- the right hand's finger direction and palm normal (orientation, twists);
- the fingertips of each hand in the hand's own frame, in hand lengths (the
  handshape, independent of the hand's orientation and size).
Ground truth scores ~1 for every signer; a still or mean pose scores at
chance (every segment gets the same nearest sign).
"""

import functools

import numpy as np

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.data.synth import lexicon as lexicon_lib
from signllm_jax.data.synth import motion

SAMPLES = 8
TRIM = 0.1  # Fraction of a span dropped at each end (transitions).
_TIPS = np.array([4, 8, 12, 16, 20])
_WEIGHTS = {"wrist_r": 1.0, "wrist_l": 0.6, "orient": 0.5, "shape_r": 1.0,
            "shape_l": 0.5}


def _unit(v):
  return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _hand_frame(hand_Tx21x3):
  """Finger direction, palm-side normal and tips in the hand frame."""
  wrist = hand_Tx21x3[:, 0]
  u = _unit(hand_Tx21x3[:, 9] - wrist)
  across = hand_Tx21x3[:, 5] - hand_Tx21x3[:, 17]  # index MCP - pinky MCP
  x = _unit(across - np.sum(across * u, -1, keepdims=True) * u)
  n = np.cross(x, u)
  size = np.maximum(np.linalg.norm(hand_Tx21x3[:, 9] - wrist, axis=-1), 1e-6)
  rel = (hand_Tx21x3[:, _TIPS] - wrist[:, None]) / size[:, None, None]
  tips = np.stack([np.sum(rel * x[:, None], -1), np.sum(rel * u[:, None], -1),
                   np.sum(rel * n[:, None], -1)], axis=-1)
  return u, n, tips


def _segment(start: int, end: int) -> np.ndarray:
  """Frame indices: the central part of [start, end), resampled."""
  length = end - start
  lo = start + TRIM * length
  hi = end - 1 - TRIM * length
  if hi < lo:
    lo = hi = (start + end - 1) / 2
  return np.rint(np.linspace(lo, hi, SAMPLES)).astype(np.int64)


def features(pose_TxJx3: np.ndarray, spans_Sx2: np.ndarray) -> np.ndarray:
  """[S, D] weighted features of each span of a pose."""
  pose = np.nan_to_num(np.asarray(pose_TxJx3, np.float64))
  if pose.ndim != 3 or pose.shape[1:] != (skeleton.NUM_JOINTS, 3):
    raise ValueError(f"pose must be [T, {skeleton.NUM_JOINTS}, 3], "
                     f"got {pose.shape}")
  spans = np.asarray(spans_Sx2, np.int64).reshape(-1, 2)
  if len(spans) == 0:
    return np.zeros((0, 0))
  neck = pose[:, skeleton.NECK]
  half_shoulder = 0.5 * np.mean(np.linalg.norm(
      pose[:, skeleton.R_SHOULDER] - pose[:, skeleton.L_SHOULDER], axis=-1))
  half_shoulder = max(half_shoulder, 1e-6)
  idx = np.concatenate([_segment(s, e) for s, e in spans])
  idx = np.clip(idx, 0, len(pose) - 1)
  p = pose[idx]
  rel = (p - neck[idx][:, None]) / half_shoulder
  u_r, n_r, tips_r = _hand_frame(p[:, skeleton.RIGHT_HAND])
  _, _, tips_l = _hand_frame(p[:, skeleton.LEFT_HAND])
  s = len(spans)
  blocks = {
      "wrist_r": rel[:, skeleton.RIGHT_HAND_ROOT].reshape(s, -1),
      "wrist_l": rel[:, skeleton.LEFT_HAND_ROOT].reshape(s, -1),
      "orient": np.concatenate([u_r, n_r], -1).reshape(s, -1),
      "shape_r": tips_r.reshape(s, -1),
      "shape_l": tips_l.reshape(s, SAMPLES, -1).mean(1),
  }
  return np.concatenate(
      [_WEIGHTS[k] * v / np.sqrt(v.shape[1] / SAMPLES)
       for k, v in blocks.items()], axis=-1)


@functools.lru_cache(maxsize=64)
def _references(lexicon: lexicon_lib.Lexicon, lang: str) -> np.ndarray:
  """[num_concepts, D] features of every sign's canonical rendering."""
  feats = []
  for cid in range(lexicon.num_concepts):
    sign = lexicon.sign(lang, cid)
    seq, spans = motion.assemble([motion.sign_track(sign)], [sign.duration],
                                 1.0)
    pose = motion.to_pose(seq, motion.CANONICAL_SIGNER, None)
    feats.append(features(pose, spans)[0])
  return np.stack(feats)


def scale_spans(spans_Sx2, ref_num_frames: int, num_frames: int) -> np.ndarray:
  """Maps reference spans onto a produced sequence of another length."""
  spans = np.asarray(spans_Sx2, np.float64).reshape(-1, 2)
  if ref_num_frames <= 0:
    raise ValueError(f"ref_num_frames must be positive, got {ref_num_frames}")
  scaled = np.rint(spans * (num_frames / ref_num_frames)).astype(np.int64)
  scaled = np.clip(scaled, 0, num_frames)
  scaled[:, 1] = np.maximum(scaled[:, 1], np.minimum(scaled[:, 0] + 1,
                                                     num_frames))
  scaled[:, 0] = np.minimum(scaled[:, 0], scaled[:, 1] - 1)
  return scaled


def recognize(pose_TxJx3: np.ndarray, lang: str, spans_Sx2, *,
              lexicon: lexicon_lib.Lexicon | None = None) -> np.ndarray:
  """Nearest lexicon sign (concept id) of each span, int32 [S]."""
  languages.lang_index(lang)
  lex = lexicon or lexicon_lib.build()
  feats = features(pose_TxJx3, spans_Sx2)
  if len(feats) == 0:
    return np.zeros((0,), np.int32)
  refs = _references(lex, lang)
  d = (np.sum(feats ** 2, 1)[:, None] - 2 * feats @ refs.T
       + np.sum(refs ** 2, 1)[None])
  return np.argmin(d, axis=1).astype(np.int32)


def gloss_accuracy(pose_TxJx3: np.ndarray, lang: str, sign_ids, ref_spans,
                   ref_num_frames: int, *,
                   lexicon: lexicon_lib.Lexicon | None = None) -> float:
  """Fraction of the reference signs recognised in a produced pose."""
  sign_ids = np.asarray(sign_ids, np.int64).reshape(-1)
  ref_spans = np.asarray(ref_spans).reshape(-1, 2)
  if len(sign_ids) != len(ref_spans):
    raise ValueError(f"{len(sign_ids)} sign ids but {len(ref_spans)} spans")
  if len(sign_ids) == 0:
    raise ValueError("no reference signs to recognise")
  pose = np.asarray(pose_TxJx3)
  if len(pose) == 0:
    return 0.0
  spans = scale_spans(ref_spans, ref_num_frames, len(pose))
  pred = recognize(pose, lang, spans, lexicon=lexicon)
  return float(np.mean(pred == sign_ids))


def batch_gloss_accuracy(poses, langs, sign_ids, ref_spans, ref_num_frames,
                         *, lexicon=None) -> np.ndarray:
  """`gloss_accuracy` of each example; a float64 [B] array.

  `poses` may hold poses of different lengths (a list) or be padded
  [B, T, J, 3] with `num_frames` cut off by the caller.
  """
  return np.array([
      gloss_accuracy(p, l, s, sp, n, lexicon=lexicon)
      for p, l, s, sp, n in zip(poses, langs, sign_ids, ref_spans,
                                ref_num_frames, strict=True)])


def example_accuracy(example: dict, pose_TxJx3: np.ndarray | None = None, *,
                     lexicon=None) -> float:
  """`gloss_accuracy` of a produced pose (default: the example's own)."""
  ref = example["pose"]
  return gloss_accuracy(ref if pose_TxJx3 is None else pose_TxJx3,
                        example["lang"], example["sign_ids"],
                        example["spans"], len(ref), lexicon=lexicon)
