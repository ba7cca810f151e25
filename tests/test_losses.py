"""Masked pose / token losses and the total objective."""

import jax.numpy as jnp
import numpy as np
import pytest

from signllm_jax import losses
from signllm_jax.model import variants


def _data(seed=0, b=3, t=5, f=4):
  rng = np.random.default_rng(seed)
  pred = rng.normal(size=(b, t, f)).astype(np.float32)
  target = rng.normal(size=(b, t, f)).astype(np.float32)
  mask = np.arange(t)[None] < np.array([5, 2, 3])[:, None]
  return pred, target, mask


@pytest.mark.parametrize("kind", ["mse", "l1"])
def test_pose_loss_reduction_by_hand(kind):
  pred, target, mask = _data()
  em = np.array([True, True, False])
  loss, per_b = losses.pose_loss(pred, target, mask, kind=kind,
                                 example_mask_B=em)
  err = (pred - target) ** 2 if kind == "mse" else np.abs(pred - target)
  want_b = np.array([err[i, :mask[i].sum()].mean() for i in range(3)])
  np.testing.assert_allclose(per_b, want_b, rtol=1e-6)
  # sum_b L_b m_b / sum_b m_b: the RL module's "mse" mode uses this formula.
  np.testing.assert_allclose(loss, (want_b * em).sum() / em.sum(), rtol=1e-6)


def test_padded_frames_change_nothing_even_nan():
  pred, target, mask = _data()
  loss, per_b = losses.pose_loss(pred, target, mask)
  pred2 = np.where(mask[..., None], pred, np.nan)
  target2 = np.where(mask[..., None], target, 1e6)
  loss2, per_b2 = losses.pose_loss(pred2, target2, mask)
  np.testing.assert_array_equal(loss, loss2)
  np.testing.assert_array_equal(per_b, per_b2)


def test_empty_examples_do_not_count():
  pred, target, mask = _data()
  mask[2] = False
  loss, per_b = losses.pose_loss(pred, target, mask)
  assert per_b[2] == 0.0
  np.testing.assert_allclose(loss, per_b[:2].mean(), rtol=1e-6)
  with pytest.raises(ValueError, match="kind"):
    losses.pose_loss(pred, target, mask, kind="huber")


def test_token_xent_masks_tokens_and_matches_by_hand():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(2, 4, 6)).astype(np.float32)
  targets = rng.integers(0, 6, (2, 4))
  mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], bool)
  loss, per_b = losses.token_xent(logits, targets, mask)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  nll = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]
  want = np.array([nll[0, :3].mean(), nll[1, :1].mean()])
  np.testing.assert_allclose(per_b, want, rtol=1e-5)
  np.testing.assert_allclose(loss, want.mean(), rtol=1e-5)
  logits2 = np.where(mask[..., None], logits, 50.0)
  np.testing.assert_allclose(losses.token_xent(logits2, targets, mask)[0],
                             loss, rtol=1e-6)


def test_future_targets_alignment():
  pose = np.arange(2 * 4 * 1, dtype=np.float32).reshape(2, 4, 1)
  mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
  target, tmask = losses.future_targets(pose, mask, 2)
  assert target.shape == (2, 8, 1)
  # position t, slot j -> frame t + j
  np.testing.assert_array_equal(target[0, :, 0], [0, 1, 1, 2, 2, 3, 3, 0])
  np.testing.assert_array_equal(tmask[0], [1, 1, 1, 1, 1, 0, 0, 0])
  np.testing.assert_array_equal(tmask[1], [1, 1, 1, 1, 1, 1, 1, 0])


def test_total_loss_with_future_prediction_and_l1():
  cfg = variants.model_config("smoke")
  cfg.future_prediction = 2
  cfg.loss = "l1"
  rng = np.random.default_rng(2)
  b, t, f = 2, 5, 151
  pose = rng.normal(size=(b, t, f)).astype(np.float32)
  mask = np.arange(t)[None] < np.array([5, 3])[:, None]
  pred = rng.normal(size=(b, t, 2 * f)).astype(np.float32)
  batch = {"pose": jnp.asarray(pose), "pose_mask": jnp.asarray(mask),
           "example_mask": jnp.array([True, True])}
  loss, aux = losses.total_loss({"pose": pred}, batch, cfg)
  # Slot 0 of the last real frame, and slot 1 wherever t + 1 is real.
  err, n = np.zeros(b), np.zeros(b)
  for i in range(b):
    for tt in range(t):
      for j in range(2):
        if tt + j < t and mask[i, tt + j]:
          err[i] += np.abs(pred[i, tt, j * f:(j + 1) * f]
                           - pose[i, tt + j]).sum()
          n[i] += f
  np.testing.assert_allclose(aux["per_example_loss"], err / n, rtol=1e-5)
  np.testing.assert_allclose(loss, (err / n).mean(), rtol=1e-5)
  assert aux["per_example_mse"].shape == (b,)
  assert not np.allclose(aux["per_example_mse"], aux["per_example_loss"])
  assert float(aux["gloss_xent"]) == 0.0


def test_total_loss_adds_the_weighted_log_length_error():
  cfg = variants.model_config("smoke")
  cfg.length_loss_weight = 0.5
  b, t, f = 3, 4, 151
  pose = jnp.zeros((b, t, f))
  mask = np.arange(t)[None] < np.array([4, 2, 1])[:, None]
  batch = {"pose": pose, "pose_mask": jnp.asarray(mask),
           "length": jnp.array([4, 2, 1]),
           "example_mask": jnp.array([True, True, False])}
  log_len = jnp.array([np.log(2.0), np.log(2.0), 7.0])
  loss, aux = losses.total_loss({"pose": pose, "log_length": log_len},
                                batch, cfg)
  per = np.array([np.log(2.0) - np.log(4.0), 0.0, 7.0]) ** 2
  # The padding row (example_mask False) does not count in the mean.
  np.testing.assert_allclose(aux["length_loss"], per[:2].mean(), rtol=1e-5)
  np.testing.assert_allclose(loss, 0.5 * per[:2].mean(), rtol=1e-5)
  np.testing.assert_allclose(aux["per_example_loss"], 0.5 * per, rtol=1e-5)
  assert float(aux["pose_loss"]) == 0.0


def test_backtranslate_mode_is_token_xent_on_text():
  cfg = variants.model_config("smoke")
  cfg.mode = "backtranslate"
  rng = np.random.default_rng(3)
  b, l, v = 3, 4, 7
  logits = rng.normal(size=(b, l, v)).astype(np.float32)
  text = np.array([[4, 5, 6, 3], [6, 3, 0, 0], [5, 3, 0, 0]], np.int32)
  mask = text > 0
  # Row 1: argmax is the target on both real tokens; row 0: on one of four.
  logits[1, 0, 6] = logits[1, 1, 3] = 10.0
  logits[0, 0, 4] = 10.0
  logits[0, 1:, 5] = -10.0
  logits[0, 1:, 0] = 10.0
  batch = {"text": jnp.asarray(text), "text_mask": jnp.asarray(mask),
           "example_mask": jnp.array([True, True, False])}
  loss, aux = losses.total_loss({"text_logits": logits}, batch, cfg)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  nll = -np.take_along_axis(logp, text[..., None], -1)[..., 0]
  # Token-weighted over the counted rows 0 and 1 (row 2 is padding,
  # example_mask False): (4 + 2) real tokens.
  sums_b = np.array([nll[i, :mask[i].sum()].sum() for i in range(b)])
  np.testing.assert_allclose(loss, sums_b[:2].sum() / 6, rtol=1e-5)
  # Per example: its token sum over the counted rows' mean count (3), so
  # the trainer's mean over examples is the token-weighted loss.
  np.testing.assert_allclose(aux["per_example_loss"], sums_b / 3, rtol=1e-5)
  np.testing.assert_allclose(aux["per_example_loss"][:2].mean(), loss,
                             rtol=1e-5)
  # The RL objective's "mse" mode reads per_example_mse: the same values.
  np.testing.assert_array_equal(aux["per_example_mse"],
                                aux["per_example_loss"])
  np.testing.assert_allclose(aux["text_xent"], loss)
  np.testing.assert_allclose(aux["token_accuracy"], (1 + 2) / (4 + 2),
                             rtol=1e-6)
  # Logits at padded text positions change nothing.
  noisy = np.where(mask[..., None], logits, 99.0)
  loss2, aux2 = losses.total_loss({"text_logits": noisy}, batch, cfg)
  np.testing.assert_allclose(loss2, loss, rtol=1e-6)
  np.testing.assert_allclose(aux2["token_accuracy"], aux["token_accuracy"])


def _diagonal(t, l):
  """Attention that reads token floor(t * L / T) at frame t (one-hot)."""
  a = np.zeros((t, l), np.float32)
  a[np.arange(t), (np.arange(t) * l) // t] = 1.0
  return a


def test_guided_attention_by_hand():
  t, l = 8, 4
  diag = _diagonal(t, l)
  anti = diag[::-1]
  probs = jnp.asarray(np.stack([diag, anti]))
  frames = jnp.ones((2, t), bool)
  src = jnp.ones((2, l), bool)
  mean, per = losses.guided_attention(probs, frames, src, sigma=0.2)
  # Frame t reads token l: penalty 1 - exp(-(p_l - p_t)^2 / (2 sigma^2)).
  pt = (np.arange(t) + 0.5) / t
  pl = (np.arange(l) + 0.5) / l
  w = 1 - np.exp(-(pl[None] - pt[:, None]) ** 2 / (2 * 0.2 ** 2))
  np.testing.assert_allclose(per, [(w * diag).sum() / t, (w * anti).sum() / t],
                             rtol=1e-5)
  assert per[0] < 0.1 < 0.5 < per[1]
  np.testing.assert_allclose(mean, per.mean(), rtol=1e-6)


def test_guided_attention_ignores_padding():
  """Padded frames and tokens change nothing: the positions are relative
  to each example's own lengths."""
  diag = _diagonal(6, 3)
  _, per_small = losses.guided_attention(
      jnp.asarray(diag[None]), jnp.ones((1, 6), bool), jnp.ones((1, 3), bool),
      sigma=0.3)
  padded = np.full((1, 9, 5), 7.0, np.float32)  # junk where padded
  padded[0, :6, :3] = diag
  padded[0, :6, 3:] = 0.0
  frames = np.arange(9)[None] < 6
  src = np.arange(5)[None] < 3
  _, per_padded = losses.guided_attention(
      jnp.asarray(padded), jnp.asarray(frames), jnp.asarray(src), sigma=0.3)
  np.testing.assert_allclose(per_padded, per_small, rtol=1e-6)


def test_total_loss_adds_the_weighted_guided_attention():
  cfg = variants.model_config("smoke")
  cfg.guided_attention_weight = 2.0
  b, t, l = 2, 4, 3
  pose = jnp.zeros((b, t, 151))
  batch = {"pose": pose, "pose_mask": jnp.ones((b, t), bool),
           "length": jnp.array([t, t]),
           "example_mask": jnp.array([True, True])}
  probs = jnp.full((b, t, l), 1.0 / l)
  src = jnp.ones((b, l), bool)
  loss, aux = losses.total_loss(
      {"pose": pose, "cross_attn": probs, "cross_attn_src_mask": src},
      batch, cfg)
  want, _ = losses.guided_attention(probs, batch["pose_mask"], src,
                                    sigma=cfg.guided_attention_sigma)
  np.testing.assert_allclose(aux["guided_attention"], want, rtol=1e-6)
  np.testing.assert_allclose(loss, 2.0 * want, rtol=1e-6)
