"""Parametric sign motion: hand geometry, sign tracks, signers, rendering.

Over ~400 lines on purpose: the recogniser inverts exactly this geometry,
so the hand shapes, tracks and signer transforms stay side by side.

Coordinates (body frame, before a signer is applied): x to the viewer's right
(the signer's left), y down, z towards the viewer, in units of half the
shoulder width, origin at the neck; like OpenPose image coordinates with a
depth axis. The signer is right-handed: the dominant hand is the right hand.
A rendered pose is in the internal Prompt2Sign convention (docs/CONVENTIONS.
md): the body spans roughly [-2, 2], a hand (wrist to fingertip) is about 0.4
long, about a tenth of the body.

A sign is first turned into a *track*: `TRACK_SAMPLES` samples of a flat
144-d vector per frame (per hand: wrist position, finger direction, palm
normal, 21 hand-local points). The left hand is stored "virtually", as a
right hand in the mirrored body, so symmetric two-handed signs share one
description; it is mirrored back when rendered. A sentence resamples each
track to its duration, joins the signs with eased transitions, smooths the
whole sequence in time (coarticulation: neighbouring signs pull on each
other), then applies a signer's proportions, arm kinematics and noise.
"""

import dataclasses
import functools
import math

import numpy as np

from signllm_jax import skeleton

FPS = 25
TRACK_SAMPLES = 24

# --- Handshapes ------------------------------------------------------------
# (name, (mcp, pip) flexion of index/middle/ring/pinky in [0, 1], spread in
# [0, 1], (thumb opposition, thumb flexion)).
_FIST = (1.0, 1.0)
_OPEN = (0.0, 0.0)
HANDSHAPES = (
    ("B", (_OPEN,) * 4, 0.0, (0.3, 0.1)),
    ("5", (_OPEN,) * 4, 1.0, (0.0, 0.0)),
    ("A", (_FIST,) * 4, 0.0, (0.1, 0.0)),
    ("1", (_OPEN, _FIST, _FIST, _FIST), 0.0, (0.9, 0.6)),
    ("V", (_OPEN, _OPEN, _FIST, _FIST), 1.0, (0.9, 0.6)),
    ("Y", (_FIST, _FIST, _FIST, _OPEN), 1.0, (0.0, 0.0)),
    ("C", ((0.3, 0.45),) * 4, 0.2, (0.5, 0.3)),
    ("O", ((0.55, 0.75),) * 4, 0.0, (0.85, 0.5)),
    ("L", (_OPEN, _FIST, _FIST, _FIST), 0.0, (0.0, 0.0)),
    ("W", (_OPEN, _OPEN, _OPEN, _FIST), 1.0, (0.9, 0.7)),
    ("I", (_FIST, _FIST, _FIST, _OPEN), 0.0, (0.9, 0.6)),
    ("bent-B", ((1.0, 0.0),) * 4, 0.0, (0.3, 0.1)),
    ("claw", ((0.25, 0.9),) * 4, 1.0, (0.2, 0.5)),
    ("X", ((0.2, 0.9), _FIST, _FIST, _FIST), 0.0, (0.9, 0.6)),
    ("3", (_OPEN, _OPEN, _FIST, _FIST), 1.0, (0.0, 0.0)),
    ("flat-O", ((0.8, 0.15),) * 4, 0.0, (0.85, 0.2)),
)
HANDSHAPE_NAMES = tuple(h[0] for h in HANDSHAPES)
RELAXED = ("relaxed", ((0.2, 0.25),) * 4, 0.3, (0.3, 0.2))

# Hand-local geometry in hand lengths (wrist to middle fingertip ~ 1): x to
# the thumb side, y along the fingers, z out of the palm (fingers curl to +z).
_MCP = np.array([[0.11, 0.42, 0.0], [0.035, 0.44, 0.0], [-0.04, 0.42, 0.0],
                 [-0.11, 0.38, 0.0]])
_PHALANGES = np.array([[0.22, 0.13, 0.10], [0.25, 0.15, 0.11],
                       [0.23, 0.14, 0.10], [0.18, 0.11, 0.09]])
_SPLAY = np.array([0.06, 0.0, -0.06, -0.14])
_SPREAD = np.array([0.25, 0.08, -0.10, -0.25])
_THUMB_CMC = np.array([0.10, 0.08, 0.02])
_THUMB_LENGTHS = (0.17, 0.14, 0.11)


def _unit(v: np.ndarray) -> np.ndarray:
  return v / np.sqrt(np.sum(v * v, axis=-1, keepdims=True))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """np.cross for [..., 3] arrays without its per-call overhead."""
  a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
  b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
  return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0],
                  axis=-1)


def hand_points(fingers, spread: float, thumb) -> np.ndarray:
  """21 hand-local points (OpenPose hand order) of a handshape, [21, 3]."""
  pts = np.zeros((21, 3))
  opp, flex = thumb
  d = _unit((1 - opp) * np.array([0.85, 0.5, 0.0])
            + opp * np.array([-0.3, 0.55, 0.75]))
  p = _THUMB_CMC.copy()
  pts[1] = p
  bend = _unit(np.array([-0.7, -0.1, 0.7]))
  for k, length in enumerate(_THUMB_LENGTHS):
    if k:
      d = _unit(d + flex * 0.7 * bend)
    p = p + length * d
    pts[2 + k] = p
  for f, (mcp, pip) in enumerate(fingers):
    a = _SPLAY[f] + spread * _SPREAD[f]
    plane = np.array([np.sin(a), np.cos(a), 0.0])
    angles = np.cumsum([mcp * 1.45, pip * 1.7, pip * 1.2])
    p = _MCP[f].copy()
    base = 5 + 4 * f
    pts[base] = p
    for k in range(3):
      p = p + _PHALANGES[f, k] * (np.cos(angles[k]) * plane
                                  + np.sin(angles[k]) * np.array([0, 0, 1.0]))
      pts[base + 1 + k] = p
  return pts


HAND_LOCAL = np.stack([hand_points(*h[1:]) for h in HANDSHAPES])  # [16,21,3]
RELAXED_LOCAL = hand_points(*RELAXED[1:])

# --- Orientation, location, movement -----------------------------------------
# (name, finger direction u, palm normal n) of the right hand.
ORIENTATIONS = (
    ("fingers-up palm-out", (0, -1, 0), (0, 0, 1)),
    ("fingers-up palm-in", (0, -1, 0), (1, 0, 0)),
    ("fingers-out palm-down", (0, 0, 1), (0, 1, 0)),
    ("fingers-out palm-in", (0, 0, 1), (1, 0, 0)),
    ("fingers-across palm-down", (1, 0, 0), (0, 1, 0)),
    ("fingers-up palm-self", (0, -1, 0), (0, 0, -1)),
    ("fingers-across palm-self", (1, 0, 0), (0, 0, -1)),
    ("fingers-out palm-up", (0, 0, 1), (0, -1, 0)),
)
_ORIENT_U = np.array([o[1] for o in ORIENTATIONS], float)
_ORIENT_N = np.array([o[2] for o in ORIENTATIONS], float)

# Right wrist targets (body frame).
LOCATIONS = (
    ("forehead", (-0.30, -1.15, 0.55)),
    ("chin", (-0.20, -0.50, 0.60)),
    ("cheek", (-0.60, -0.75, 0.45)),
    ("throat", (-0.15, -0.05, 0.60)),
    ("chest", (-0.15, 0.55, 0.60)),
    ("chest-side", (-0.65, 0.55, 0.55)),
    ("shoulder", (-0.95, 0.00, 0.50)),
    ("stomach", (-0.20, 1.30, 0.60)),
    ("neutral", (-0.40, 0.85, 1.25)),
    ("neutral-high", (-0.45, -0.35, 1.15)),
    ("neutral-side", (-1.25, 0.75, 0.95)),
    ("base-hand", (0.05, 0.70, 1.20)),
)
BASE_LOCATION = len(LOCATIONS) - 1
_LOC = np.array([l[1] for l in LOCATIONS], float)
# The non-dominant base hand (virtual right-hand coordinates, i.e. mirrored).
_BASE_POS = np.array([-0.30, 1.00, 1.10])
_BASE_U = _unit(np.array([-0.3, 0.0, 1.0]))
_BASE_N = np.array([0.0, -1.0, 0.0])
REST_POS = np.array([-0.80, 2.10, 0.35])
_REST_U = _unit(np.array([0.4, 0.3, 0.85]))
_REST_N = _unit(np.array([0.0, 1.0, 0.0]) - _REST_U[1] * _REST_U)

MOVEMENTS = ("hold", "forward", "down", "outward", "up", "inward", "arc",
             "circle-front", "circle-flat", "tap", "zigzag", "shake", "twist",
             "nod")
PERIODIC = frozenset({"circle-front", "circle-flat", "tap", "zigzag", "shake",
                      "nod"})
AMPLITUDES = (0.28, 0.45)
HANDS = ("one", "symmetric", "alternating", "base")


@dataclasses.dataclass(frozen=True)
class SignParams:
  """One sign's form. Indices into the inventories above."""
  handshape: int
  handshape_end: int  # == handshape unless the handshape changes
  orientation: int
  location: int
  movement: int
  hands: int  # index into HANDS
  base_handshape: int  # non-dominant handshape when hands == "base"
  size: int  # index into AMPLITUDES
  duration: int  # core frames at citation speed, 25 fps

  def form(self) -> tuple[int, ...]:
    """What two signs of one language must not share."""
    return (self.handshape, self.handshape_end, self.orientation,
            self.location, self.movement, self.hands, self.base_handshape)


def _smoothstep(s: np.ndarray) -> np.ndarray:
  return s * s * (3 - 2 * s)


def _movement(name: str, s: np.ndarray, amp: float):
  """Displacement [K, 3], twist and nod angles [K] at normalised times s."""
  e = _smoothstep(s)
  zero = np.zeros_like(s)
  disp = np.zeros((len(s), 3))
  twist, nod = zero, zero
  axis = {"forward": (2, 1), "down": (1, 1), "outward": (0, -1),
          "up": (1, -1), "inward": (0, 1)}
  if name in axis:
    i, sign = axis[name]
    disp[:, i] = sign * amp * e
  elif name == "arc":
    disp[:, 1] = -0.6 * amp * np.sin(np.pi * s)
    disp[:, 2] = amp * e
  elif name == "circle-front":
    disp[:, 0] = 0.5 * amp * (np.cos(2 * np.pi * s) - 1)
    disp[:, 1] = 0.5 * amp * np.sin(2 * np.pi * s)
  elif name == "circle-flat":
    disp[:, 0] = 0.5 * amp * (np.cos(2 * np.pi * s) - 1)
    disp[:, 2] = 0.5 * amp * np.sin(2 * np.pi * s)
  elif name == "tap":
    disp[:, 2] = -0.5 * amp * np.abs(np.sin(2 * np.pi * s))
  elif name == "zigzag":
    disp[:, 0] = 0.35 * amp * np.sin(3 * np.pi * s)
    disp[:, 1] = amp * s
  elif name == "shake":
    disp[:, 0] = 0.35 * amp * np.sin(4 * np.pi * s)
  elif name == "twist":
    twist = 1.3 * e
  elif name == "nod":
    nod = 0.7 * np.sin(2 * np.pi * s)
  elif name != "hold":
    raise ValueError(f"unknown movement {name!r}")
  return disp, twist, nod


def _rotate(u0, n0, twist, nod):
  """Finger direction and palm normal [K, 3] after twist (about u), nod."""
  c, s = np.cos(twist)[:, None], np.sin(twist)[:, None]
  n = n0 * c + _cross(u0, n0) * s
  u = np.broadcast_to(u0, n.shape)
  c, s = np.cos(nod)[:, None], np.sin(nod)[:, None]
  return u * c - n * s, n * c + u * s


def _hand_block(pos, u, n, shape) -> np.ndarray:
  k = len(pos)
  return np.concatenate([np.broadcast_to(pos, (k, 3)),
                         np.broadcast_to(u, (k, 3)),
                         np.broadcast_to(n, (k, 3)),
                         np.broadcast_to(shape, (k, 21, 3)).reshape(k, 63)],
                        axis=1)


HAND_DIM = 72
TRACK_DIM = 2 * HAND_DIM
_S = np.linspace(0.0, 1.0, TRACK_SAMPLES)


@functools.lru_cache(maxsize=8192)
def sign_track(p: SignParams) -> np.ndarray:
  """[TRACK_SAMPLES, 144] right-hand block then virtual left-hand block."""
  mname, hands = MOVEMENTS[p.movement], HANDS[p.hands]
  amp = AMPLITUDES[p.size]
  e = _smoothstep(_S)[:, None, None]
  shape = HAND_LOCAL[p.handshape] + e * (
      HAND_LOCAL[p.handshape_end] - HAND_LOCAL[p.handshape])
  loc = _LOC[p.location].copy()
  if hands in ("symmetric", "alternating"):
    loc[0] = min(loc[0], -0.4)  # Keep the two hands apart.
  u0, n0 = _ORIENT_U[p.orientation], _ORIENT_N[p.orientation]
  disp, twist, nod = _movement(mname, _S, amp)
  u, n = _rotate(u0, n0, twist, nod)
  right = _hand_block(loc + disp, u, n, shape)
  if hands == "one":
    left = _hand_block(REST_POS[None], _REST_U, _REST_N, RELAXED_LOCAL)
    left = np.broadcast_to(left, right.shape)
  elif hands == "symmetric":
    left = right
  elif hands == "alternating":
    s2 = (_S + 0.5) % 1.0 if mname in PERIODIC else 1.0 - _S
    disp2, twist2, nod2 = _movement(mname, s2, amp)
    u2, n2 = _rotate(u0, n0, twist2, nod2)
    left = _hand_block(loc + disp2, u2, n2, shape[::-1])
  else:
    left = _hand_block(_BASE_POS[None], _BASE_U, _BASE_N,
                       HAND_LOCAL[p.base_handshape])
    left = np.broadcast_to(left, right.shape)
  return np.ascontiguousarray(np.concatenate([right, left], axis=1))


REST_VECTOR = np.concatenate(
    [_hand_block(REST_POS[None], _REST_U, _REST_N, RELAXED_LOCAL)] * 2,
    axis=1)[0]

# --- Signers ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Signer:
  id: int
  scale: float = 1.0  # overall body size
  shoulder: float = 1.0  # shoulder width relative to the body
  arm: float = 1.0  # arm length relative to the body
  hand: float = 1.0  # hand size relative to the body
  head: float = 1.0  # neck-to-nose distance relative to the body
  offset: tuple[float, float, float] = (0.0, -0.7, 0.0)  # neck position
  space: tuple[float, float, float] = (0.0, 0.0, 0.0)  # signing-space shift
  speed: float = 1.0  # > 1 signs faster
  noise: float = 0.0  # std of per-frame joint jitter
  sway: float = 0.0  # amplitude of slow body sway


CANONICAL_SIGNER = Signer(id=-1)


@functools.lru_cache(maxsize=1024)
def make_signer(signer_id: int) -> Signer:
  """A deterministic signer: the same id always has the same body and style."""
  rng = np.random.default_rng([0x5167, signer_id])
  u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
  return Signer(
      id=signer_id, scale=u(0.88, 1.12), shoulder=u(0.94, 1.06),
      arm=u(0.94, 1.06), hand=u(0.9, 1.1), head=u(0.9, 1.1),
      offset=(u(-0.12, 0.12), u(-0.85, -0.55), u(-0.1, 0.1)),
      space=(u(-0.06, 0.06), u(-0.08, 0.08), u(-0.08, 0.08)),
      speed=u(0.85, 1.2), noise=u(0.004, 0.012), sway=u(0.0, 0.04))


# --- Rendering ----------------------------------------------------------------


def _resample(track: np.ndarray, n: int) -> np.ndarray:
  idx = np.linspace(0.0, len(track) - 1, n)
  i0 = np.minimum(idx.astype(np.int64), len(track) - 2)
  w = (idx - i0)[:, None]
  return track[i0] * (1 - w) + track[i0 + 1] * w


def _blend(a: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
  """Eased transition; opposed hand directions turn via a third axis.

  A straight blend between opposite finger directions or palm normals would
  pass through a zero vector; the hand rotates about another axis instead.
  """
  w = _smoothstep((np.arange(m) + 1.0) / (m + 1.0))[:, None]
  out = a[None] * (1 - w) + b[None] * w
  bump = 4.0 * w * (1 - w)
  for h in (0, HAND_DIM):
    u, n = a[h + 3:h + 6], a[h + 6:h + 9]
    opposed_u = -float(u @ b[h + 3:h + 6])
    opposed_n = -float(n @ b[h + 6:h + 9])
    if opposed_u > 0.0:
      out[:, h + 3:h + 6] += bump * opposed_u * n
    if opposed_n > 0.0:
      out[:, h + 6:h + 9] += bump * opposed_n * _cross(n, u)
  return out


def _transition_frames(a: np.ndarray, b: np.ndarray, speed: float) -> int:
  dr, dl = a[0:3] - b[0:3], a[HAND_DIM:HAND_DIM + 3] - b[HAND_DIM:HAND_DIM + 3]
  dist = math.sqrt(dr @ dr) + 0.5 * math.sqrt(dl @ dl)
  return min(10, max(3, round((3.0 + 2.2 * dist) / speed)))


_KERNEL = np.exp(-0.5 * (np.arange(-3, 4) / 1.2) ** 2)
_KERNEL /= _KERNEL.sum()


def _smooth(seq: np.ndarray) -> np.ndarray:
  padded = np.concatenate([seq[:1], seq[:1], seq[:1], seq, seq[-1:],
                           seq[-1:], seq[-1:]])
  t = len(seq)
  out = _KERNEL[0] * padded[0:t]
  for i in range(1, 7):
    out += _KERNEL[i] * padded[i:i + t]
  return out


def assemble(tracks, core_frames, speed: float, holds=(3, 3)):
  """Joins sign tracks into one sequence [T, 144] with coarticulation.

  Returns the sequence and the [S, 2] spans: a sign's span is its core plus
  half of each transition to a neighbouring sign (so consecutive spans meet);
  the lead-in from and lead-out to the rest pose belong to no sign.
  """
  parts = [np.broadcast_to(REST_VECTOR, (holds[0], TRACK_DIM))]
  prev = REST_VECTOR
  cores = []
  start = holds[0]
  trans = []
  for track, n in zip(tracks, core_frames):
    core = _resample(track, n)
    m = _transition_frames(prev, core[0], speed)
    parts.append(_blend(prev, core[0], m))
    trans.append(m)
    start += m
    cores.append((start, start + n))
    parts.append(core)
    start += n
    prev = core[-1]
  m = _transition_frames(prev, REST_VECTOR, speed)
  parts.append(_blend(prev, REST_VECTOR, m))
  parts.append(np.broadcast_to(REST_VECTOR, (holds[1], TRACK_DIM)))
  seq = _smooth(np.concatenate(parts, axis=0))
  spans = np.array(cores, np.int32)
  for i in range(1, len(cores)):
    mid = cores[i][0] - trans[i] // 2
    spans[i - 1, 1] = mid
    spans[i, 0] = mid
  return seq, spans


def _elbows(shoulder, wrist, upper, fore, pole):
  """Two-bone inverse kinematics; also pulls unreachable wrists in."""
  v = wrist - shoulder
  d = np.sqrt(np.sum(v * v, axis=-1, keepdims=True))
  dc = np.clip(d, abs(upper - fore) + 0.05 * upper, 0.995 * (upper + fore))
  e = v / np.maximum(d, 1e-9)
  wrist = shoulder + e * dc
  x = (upper ** 2 - fore ** 2 + dc ** 2) / (2 * dc)
  h = np.sqrt(np.maximum(upper ** 2 - x ** 2, 0.0))
  p = pole - np.sum(pole * e, axis=-1, keepdims=True) * e
  p = p / np.maximum(np.sqrt(np.sum(p * p, axis=-1, keepdims=True)), 1e-9)
  return shoulder + e * x + p * h, wrist


_MIRROR = np.array([-1.0, 1.0, 1.0])
_POLE_R = _unit(np.array([-0.4, 1.0, -0.35]))


def _place_hand(wrist, block, hand_len, mirror: bool):
  u = _unit(block[:, 3:6])
  n = block[:, 6:9]
  n = n - np.sum(n * u, axis=-1, keepdims=True) * u
  # Never divide by a vanishing normal (a safety net; _blend avoids it).
  bad = np.sum(n * n, axis=-1) < 1e-8
  if bad.any():
    n[bad] = _cross(u[bad], np.array([0.3, 0.5, 0.8]))
  n = _unit(n)
  r = _cross(n, u)
  rot = np.stack([r, u, n], axis=1) * hand_len  # [T, 3 local axes, 3]
  if mirror:
    rot = rot * _MIRROR
  return wrist[:, None] + block[:, 9:72].reshape(-1, 21, 3) @ rot


def to_pose(seq: np.ndarray, signer: Signer,
            rng: np.random.Generator | None) -> np.ndarray:
  """Applies a signer to an assembled sequence: pose [T, 50, 3] float32."""
  t = len(seq)
  s = signer.scale
  neck = np.broadcast_to(np.asarray(signer.offset, float), (t, 3)).copy()
  if rng is not None and signer.sway > 0:
    phase = rng.uniform(0, 2 * np.pi, 3)
    tt = np.arange(t)[:, None] / FPS
    neck += signer.sway * np.array([1.0, 0.3, 0.5]) * np.sin(
        2 * np.pi * 0.4 * tt + phase)
  space = np.asarray(signer.space)
  wrist_r = neck + s * (seq[:, 0:3] + space)
  wrist_l = neck + s * (seq[:, HAND_DIM:HAND_DIM + 3] + space) * _MIRROR
  sh = s * signer.shoulder
  shoulder_r = neck + np.array([-sh, 0.1 * s, 0.0])
  shoulder_l = neck + np.array([sh, 0.1 * s, 0.0])
  upper, fore = 1.3 * s * signer.arm, 1.2 * s * signer.arm
  elbow_r, wrist_r = _elbows(shoulder_r, wrist_r, upper, fore, _POLE_R)
  elbow_l, wrist_l = _elbows(shoulder_l, wrist_l, upper, fore,
                             _POLE_R * _MIRROR)
  nose = neck + s * np.array([0.0, -1.0 * signer.head, 0.25])
  hand_len = 0.42 * s * signer.hand
  pose = np.empty((t, skeleton.NUM_JOINTS, 3))
  pose[:, skeleton.NOSE] = nose
  pose[:, skeleton.NECK] = neck
  pose[:, skeleton.R_SHOULDER] = shoulder_r
  pose[:, skeleton.R_ELBOW] = elbow_r
  pose[:, skeleton.R_WRIST] = wrist_r
  pose[:, skeleton.L_SHOULDER] = shoulder_l
  pose[:, skeleton.L_ELBOW] = elbow_l
  pose[:, skeleton.L_WRIST] = wrist_l
  pose[:, skeleton.RIGHT_HAND] = _place_hand(wrist_r, seq[:, :HAND_DIM],
                                             hand_len, mirror=False)
  pose[:, skeleton.LEFT_HAND] = _place_hand(
      wrist_l, seq[:, HAND_DIM:], hand_len, mirror=True)
  if rng is not None and signer.noise > 0:
    jitter = rng.standard_normal(pose.shape, dtype=np.float32)
    jitter[:, skeleton.NUM_BODY:] *= 0.4  # Hand keypoints are finer.
    pose += signer.noise * jitter
  return pose.astype(np.float32)
