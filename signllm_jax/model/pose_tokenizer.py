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

  def encode(self, x_BxTxP):
    """Part coordinates [B, T, P] -> FSQ codes [B, T / downsample, d]."""
    h = self.enc_in(x_BxTxP)
    for block in self.enc_blocks:
      h = block(h)
    for conv, block in zip(self.down, self.down_blocks):
      h = block(jax.nn.gelu(conv(h)))
    return fsq.quantize(self.enc_out(h), self.levels)

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
    return {name: fsq.codes_to_indices(
        self.streams[name].encode(frames_BxTxF[..., part_coords(name)]),
        self.levels) for name in PART_NAMES}

  def detokenize(self, indices: dict[str, jax.Array]):
    """{part: int [B, N]} -> normalised pose coordinates [B, N * ds, 150]."""
    parts = [self.streams[name].decode(
        fsq.indices_to_codes(indices[name], self.levels))
        for name in PART_NAMES]
    return jnp.concatenate(parts, axis=-1)

  def __call__(self, batch, *, train: bool):
    """Reconstruction through the quantizer (straight-through)."""
    del train
    frames = batch["pose"]
    self._check_frames(frames)
    recon, indices = [], {}
    for name in PART_NAMES:
      stream = self.streams[name]
      codes = stream.encode(frames[..., part_coords(name)])
      indices[name] = fsq.codes_to_indices(codes, self.levels)
      recon.append(stream.decode(codes))
    return {"recon": jnp.concatenate(recon, axis=-1), "indices": indices}


def reconstruction_loss(model_out, batch):
  """Masked MSE over the 150 pose coordinates; per-part MSEs in aux."""
  target_BxTxP = batch["pose"][..., :skeleton.POSE_DIM]
  mask_BxT = batch["pose_mask"].astype(jnp.float32) * batch[
      "example_mask"][:, None].astype(jnp.float32)
  err_BxTxP = jnp.square(model_out["recon"] - target_BxTxP)
  frames = jnp.maximum(mask_BxT.sum(), 1.0)
  aux = {}
  for name in PART_NAMES:
    sl = part_coords(name)
    aux[f"mse_{name}"] = (err_BxTxP[..., sl].mean(-1) * mask_BxT).sum() / frames
  loss = (err_BxTxP.mean(-1) * mask_BxT).sum() / frames
  per_example_B = (err_BxTxP.mean(-1) * mask_BxT).sum(1) / jnp.maximum(
      mask_BxT.sum(1), 1.0)
  aux.update(pose_loss=loss, per_example_mse=per_example_B,
             per_example_loss=per_example_B)
  return loss, aux
