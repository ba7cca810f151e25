"""Multi-stream pose tokenizer: body, left hand and right hand, each a 1-D
convolutional autoencoder with an FSQ bottleneck (model mode
"pose_tokenizer").

One stream per part (body 8 joints, each hand 21), as SOKE (ICCV 2025) and
M3T (2026) found that separate hand streams carry most of the gain: a hand
shape is then a code of its own instead of a residual of the body's.
Each stream: Dense in -> residual conv block -> `log2(downsample)` strided
convolutions (stride 2, each followed by a residual block) -> Dense to the
FSQ width -> FSQ (model/fsq.py) -> the mirror image with nearest-neighbour
upsampling (repeat + conv: no checkerboard artefacts of transposed
convolutions) -> Dense out. Frames are the pipeline's normalised frames;
the counter channel is not encoded (a token sequence's length gives the
frame count: `downsample` frames per token).

Convolutions pad "SAME" over the padded batch, so a clip's last token also
sees padding; the loss counts only real frames (pose_mask).

FSQ bounds each latent channel with tanh, whose gradient vanishes once
|z| is a few units: measured on SynthSign small (lr 2e-3), the left-hand
stream's latents ran out there at step ~250, after warm-up, and never came
back (one code of 1000 for the rest of the run, MSE ~0.9 = the data's
variance). `reconstruction_loss` therefore adds `LATENT_WEIGHT * mean(
relu(|z| - LATENT_LIMIT)^2)`: zero inside the live range, so it changes
nothing while the stream trains, and a pull back when a stream saturates.

A hand stream sees its root relative to the body's wrist and its 20 other
joints relative to its root, scaled by `HAND_SCALE`, and its loss is taken
in that space; detokenizing hangs each hand from the body stream's wrist.
Measured (SynthSign small, 15 minutes, hands in the pose's own coordinates):
reconstruction MJE looked fine (0.06-0.11 skeleton units) but the right
hand's shape error relative to the wrist was 0.11, 60% of a hand's length
(0.19): the fingers are a small share of a hand's variance around the mean
pose, so the MSE ignored them, and the recogniser, which reads the handshape
in the hand's own frame, found 24-31% of the signs (ground truth: ~100%).
With the root itself in the hand stream (scaled the same), the fingers were
right (98.5% of the signs with the true wrist, step 1,500) but the hand's
place was not (56% with only the right hand reconstructed): 3 of 63
features. The body stream reconstructs the wrists well (99.5% with only the
body reconstructed), so the hands now hang from it. The normalised frames
share one global std (data/normalize.py), so the relative coordinates are a
linear, exactly invertible map of them.
"""

import math
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from signllm_jax import skeleton
from signllm_jax.model import fsq
from signllm_jax.model import layers

PARTS = (("body", 0, skeleton.NUM_BODY),
         ("left_hand", skeleton.LEFT_HAND.start, skeleton.LEFT_HAND.stop),
         ("right_hand", skeleton.RIGHT_HAND.start, skeleton.RIGHT_HAND.stop))
PART_NAMES = tuple(p[0] for p in PARTS)

# |z| beyond which tanh(z) is flat enough to starve the encoder (tanh'(2.5)
# = 0.03), and the weight of the penalty on the excess (module docstring).
LATENT_LIMIT = 2.5
LATENT_WEIGHT = 1.0
# Gain on a hand's relative joints (module docstring): a hand is ~0.34
# normalised units long, so its fingers' offsets vary by ~0.1; x5 brings them
# to the wrist's scale.
HAND_SCALE = 5.0
# The body joint each hand hangs from (skeleton.BONES).
_ANCHOR = {"left_hand": skeleton.L_WRIST, "right_hand": skeleton.R_WRIST}


def stream_features(frames_BxTxF) -> dict[str, jax.Array]:
  """Normalised frames [B, T, >=150] -> {part: its stream's features}: the
  body's coordinates; a hand's root relative to the body's wrist and its
  other joints relative to its root, times HAND_SCALE."""
  body = frames_BxTxF[..., part_coords("body")]
  feats = {"body": body}
  for part, anchor in _ANCHOR.items():
    hand = frames_BxTxF[..., part_coords(part)]
    root = hand[..., :3]
    rel = jnp.concatenate(
        [root - body[..., 3 * anchor:3 * anchor + 3],
         hand[..., 3:] - jnp.tile(root, skeleton.NUM_HAND - 1)], axis=-1)
    feats[part] = HAND_SCALE * rel
  return feats


def frames_from_streams(feats: dict[str, jax.Array]):
  """Inverse of `stream_features`: -> pose coordinates [B, T, 150]."""
  body = feats["body"]
  parts = [body]
  for part in ("left_hand", "right_hand"):
    rel = feats[part] / HAND_SCALE
    root = rel[..., :3] + body[..., 3 * _ANCHOR[part]:3 * _ANCHOR[part] + 3]
    parts.append(jnp.concatenate(
        [root, rel[..., 3:] + jnp.tile(root, skeleton.NUM_HAND - 1)], -1))
  return jnp.concatenate(parts, axis=-1)


def part_coords(part: str) -> slice:
  """The slice of a 150-d pose row holding `part`'s joint coordinates."""
  for name, start, stop in PARTS:
    if name == part:
      return slice(3 * start, 3 * stop)
  raise ValueError(f"unknown part {part!r}; known: {', '.join(PART_NAMES)}")


class Conv1D(nnx.Module):
  """A 1-D convolution over time, [B, T, C] -> [B, T / stride, C']."""

  def __init__(self, c_in: int, c_out: int, kernel: int, *, stride: int = 1,
               rngs: nnx.Rngs):
    self.kernel = layers.param(rngs, nnx.initializers.lecun_normal(),
                               (kernel, c_in, c_out), (None, None, None))
    self.bias = layers.param(rngs, nnx.initializers.zeros_init(), (c_out,),
                             (None,))
    self.stride = stride

  def __call__(self, x_BxTxC):
    y = jax.lax.conv_general_dilated(
        x_BxTxC, self.kernel[...], window_strides=(self.stride,),
        padding="SAME", dimension_numbers=("NWC", "WIO", "NWC"))
    return y + self.bias[...]


class ResBlock(nnx.Module):
  """x + conv(gelu(conv(gelu(x))))."""

  def __init__(self, c: int, *, rngs: nnx.Rngs):
    self.conv1 = Conv1D(c, c, 3, rngs=rngs)
    self.conv2 = Conv1D(c, c, 3, rngs=rngs)

  def __call__(self, x_BxTxC):
    return x_BxTxC + self.conv2(jax.nn.gelu(self.conv1(jax.nn.gelu(x_BxTxC))))


class Stream(nnx.Module):
  """One part's encoder, quantizer and decoder."""

  def __init__(self, d_in: int, *, channels: int, downsample: int,
               levels: Sequence[int], rngs: nnx.Rngs):
    steps = int(round(math.log2(downsample)))
    if 2 ** steps != downsample or downsample < 1:
      raise ValueError(f"tokenizer downsample must be a power of 2, got "
                       f"{downsample}")
    self.levels = tuple(int(l) for l in levels)
    fsq.codebook_size(self.levels)  # validates
    c = channels
    self.enc_in = layers.Dense(d_in, c, (None, None), rngs=rngs)
    self.enc_blocks = nnx.List([ResBlock(c, rngs=rngs)])
    self.down = nnx.List([Conv1D(c, c, 4, stride=2, rngs=rngs)
                          for _ in range(steps)])
    self.down_blocks = nnx.List([ResBlock(c, rngs=rngs) for _ in range(steps)])
    self.enc_out = layers.Dense(c, len(self.levels), (None, None), rngs=rngs)
    self.dec_in = layers.Dense(len(self.levels), c, (None, None), rngs=rngs)
    self.up = nnx.List([Conv1D(c, c, 3, rngs=rngs) for _ in range(steps)])
    self.up_blocks = nnx.List([ResBlock(c, rngs=rngs) for _ in range(steps)])
    self.dec_blocks = nnx.List([ResBlock(c, rngs=rngs)])
    self.dec_out = layers.Dense(c, d_in, (None, None), rngs=rngs)

  def latent(self, x_BxTxP):
    """Part coordinates [B, T, P] -> pre-quantisation latent [B, T/ds, d]."""
    h = self.enc_in(x_BxTxP)
    for block in self.enc_blocks:
      h = block(h)
    for conv, block in zip(self.down, self.down_blocks):
      h = block(jax.nn.gelu(conv(h)))
    return self.enc_out(h)

  def encode(self, x_BxTxP):
    """Part coordinates [B, T, P] -> FSQ codes [B, T / downsample, d]."""
    return fsq.quantize(self.latent(x_BxTxP), self.levels)

  def decode(self, codes_BxNxd):
    """FSQ codes [B, N, d] -> part coordinates [B, N * downsample, P]."""
    h = self.dec_in(codes_BxNxd)
    for conv, block in zip(self.up, self.up_blocks):
      h = block(jax.nn.gelu(conv(jnp.repeat(h, 2, axis=1))))
    for block in self.dec_blocks:
      h = block(h)
    return self.dec_out(h)


class PoseTokenizer(nnx.Module):
  """The three streams; frames <-> per-part token indices."""

  def __init__(self, cfg, *, rngs: nnx.Rngs):
    self.downsample = int(cfg.tokenizer_downsample)
    self.levels = tuple(int(l) for l in cfg.fsq_levels)
    self.streams = nnx.Dict({
        name: Stream(3 * (stop - start), channels=int(cfg.tokenizer_channels),
                     downsample=self.downsample, levels=self.levels,
                     rngs=rngs)
        for name, start, stop in PARTS})

  @property
  def codebook_size(self) -> int:
    return fsq.codebook_size(self.levels)

  def _check_frames(self, frames_BxTxF):
    t = frames_BxTxF.shape[1]
    if t % self.downsample:
      raise ValueError(f"pose tokenizer: {t} frames is not a multiple of "
                       f"the downsampling factor {self.downsample}")

  def tokenize(self, frames_BxTxF) -> dict[str, jax.Array]:
    """Normalised frames [B, T, >=150] -> {part: int32 [B, T / ds]}."""
    self._check_frames(frames_BxTxF)
    feats = stream_features(frames_BxTxF)
    return {name: fsq.codes_to_indices(
        self.streams[name].encode(feats[name]), self.levels)
        for name in PART_NAMES}

  def detokenize(self, indices: dict[str, jax.Array]):
    """{part: int [B, N]} -> normalised pose coordinates [B, N * ds, 150]."""
    return frames_from_streams({name: self.streams[name].decode(
        fsq.indices_to_codes(indices[name], self.levels))
        for name in PART_NAMES})

  def __call__(self, batch, *, train: bool):
    """Reconstruction through the quantizer (straight-through)."""
    del train
    frames = batch["pose"]
    self._check_frames(frames)
    indices, excess, feats = {}, {}, {}
    feats_target = stream_features(frames)
    for name in PART_NAMES:
      stream = self.streams[name]
      z = stream.latent(feats_target[name])
      codes = fsq.quantize(z, self.levels)
      indices[name] = fsq.codes_to_indices(codes, self.levels)
      # [B, N]: squared excess of |z| over the live range, per token.
      excess[name] = jnp.square(
          jax.nn.relu(jnp.abs(z) - LATENT_LIMIT)).mean(-1)
      feats[name] = stream.decode(codes)
    return {"recon": frames_from_streams(feats), "indices": indices,
            "latent_excess": excess, "stream_recon": feats,
            "stream_target": feats_target}


def reconstruction_loss(model_out, batch):
  """Masked MSE in the streams' feature spaces (hands wrist-relative and
  scaled, module docstring) + the latent-range penalty over real tokens;
  aux: per-part MSEs in the streams' spaces (`mse_{part}`) and of the
  plain pose coordinates (`pose_mse`, comparable across tokenizers)."""
  mask_BxT = batch["pose_mask"].astype(jnp.float32) * batch[
      "example_mask"][:, None].astype(jnp.float32)
  frames = jnp.maximum(mask_BxT.sum(), 1.0)
  aux = {}
  err_BxTxP = jnp.concatenate(
      [jnp.square(model_out["stream_recon"][name]
                  - model_out["stream_target"][name])
       for name in PART_NAMES], axis=-1)
  offset = 0
  for name in PART_NAMES:
    width = model_out["stream_target"][name].shape[-1]
    aux[f"mse_{name}"] = (err_BxTxP[..., offset:offset + width].mean(-1)
                          * mask_BxT).sum() / frames
    offset += width
  pose_err_BxT = jnp.square(model_out["recon"] - batch["pose"][
      ..., :skeleton.POSE_DIM]).mean(-1)
  aux["pose_mse"] = (pose_err_BxT * mask_BxT).sum() / frames
  mse = (err_BxTxP.mean(-1) * mask_BxT).sum() / frames
  per_mse_B = (err_BxTxP.mean(-1) * mask_BxT).sum(1) / jnp.maximum(
      mask_BxT.sum(1), 1.0)
  per_excess_B = jnp.zeros_like(per_mse_B)
  excess = model_out.get("latent_excess") or {}
  for name, e_BxN in excess.items():
    ds = mask_BxT.shape[1] // e_BxN.shape[1]
    tok_mask_BxN = mask_BxT[:, ::ds]  # a token is real if its first frame is
    per_excess_B = per_excess_B + (e_BxN * tok_mask_BxN).sum(1) / jnp.maximum(
        tok_mask_BxN.sum(1), 1.0)
  w_B = batch["example_mask"].astype(jnp.float32)
  penalty = (per_excess_B * w_B).sum() / jnp.maximum(w_B.sum(), 1.0)
  loss = mse + LATENT_WEIGHT * penalty
  aux.update(stream_mse=mse, latent_penalty=penalty, per_example_mse=per_mse_B,
             per_example_loss=per_mse_B + LATENT_WEIGHT * per_excess_B)
  return loss, aux
