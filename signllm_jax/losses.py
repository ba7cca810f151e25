"""Pose and token losses: masked, per-example, pure functions of arrays.

Reductions (the RL module's "mse" mode must reproduce pose_loss exactly):
  per-example   L_b = sum_{t,c} m_bt * e(pred_btc, target_btc)
                      / max(F * sum_t m_bt, 1)
                i.e. the mean over example b's real values (all F channels of
                its real frames, the counter channel included, as PT does);
                e = squared error ("mse") or absolute error ("l1").
  scalar        sum_b L_b * w_b / max(sum_b w_b, 1), w_b = example_mask_B
                (default: the example has at least one real frame).
Padded positions are excluded with `where`, so even NaN padding cannot leak.
Token losses (`token_xent`) use the same reductions over real target tokens.
"""

import jax.numpy as jnp
import ml_collections
import optax

from signllm_jax.model import pose_tokenizer
from signllm_jax.model import variants


def _example_weights(mask_BxN, example_mask_B):
  has_any_B = mask_BxN.any(axis=1)
  if example_mask_B is None:
    return has_any_B.astype(jnp.float32)
  return (example_mask_B & has_any_B).astype(jnp.float32)


def _weighted_mean(per_example_B, w_B):
  return (per_example_B * w_B).sum() / jnp.maximum(w_B.sum(), 1.0)


def pose_loss(pred_BxTxF, target_BxTxF, mask_BxT, *, kind: str = "mse",
              example_mask_B=None):
  """Masked pose regression loss.

  Args:
    pred_BxTxF: predictions.
    target_BxTxF: targets (same shape).
    mask_BxT: bool, True on real frames.
    kind: "mse" or "l1".
    example_mask_B: bool, False for padding examples (optional).

  Returns:
    (scalar loss, per-example loss [B]); reductions in the module docstring.
  """
  if kind == "mse":
    err = jnp.square(pred_BxTxF.astype(jnp.float32) - target_BxTxF)
  elif kind == "l1":
    err = jnp.abs(pred_BxTxF.astype(jnp.float32) - target_BxTxF)
  else:
    raise ValueError(f"pose loss kind must be mse or l1, got {kind!r}")
  err = jnp.where(mask_BxT[..., None], err, 0.0)
  count_B = mask_BxT.sum(axis=1).astype(jnp.float32) * pred_BxTxF.shape[-1]
  per_example_B = err.sum(axis=(1, 2)) / jnp.maximum(count_B, 1.0)
  w_B = _example_weights(mask_BxT, example_mask_B)
  return _weighted_mean(per_example_B, w_B), per_example_B


def token_xent(logits_BxGxV, targets_BxG, mask_BxG, *, example_mask_B=None):
  """Masked token cross-entropy: per-example mean over real target tokens.

  Returns (scalar = mean over examples with a real target, per-example [B]).
  """
  xent_BxG = optax.softmax_cross_entropy_with_integer_labels(
      logits_BxGxV.astype(jnp.float32), targets_BxG)
  xent_BxG = jnp.where(mask_BxG, xent_BxG, 0.0)
  per_example_B = xent_BxG.sum(axis=1) / jnp.maximum(
      mask_BxG.sum(axis=1).astype(jnp.float32), 1.0)
  w_B = _example_weights(mask_BxG, example_mask_B)
  return _weighted_mean(per_example_B, w_B), per_example_B


def token_accuracy(logits_BxLxV, targets_BxL, mask_BxL, *,
                   example_mask_B=None):
  """Arg-max accuracy over the real target tokens of the counted examples."""
  w_B = _example_weights(mask_BxL, example_mask_B)
  counted_BxL = mask_BxL & (w_B[:, None] > 0)
  correct_BxL = jnp.argmax(logits_BxLxV, -1) == targets_BxL
  return (jnp.sum(correct_BxL & counted_BxL)
          / jnp.maximum(jnp.sum(counted_BxL), 1).astype(jnp.float32))


def backtranslation_loss(model_out, batch):
  """Token cross-entropy of the back-translator (mode "backtranslate").

  text_logits[:, l] predicts batch["text"][:, l] (the rows end with EOS).
  The scalar is the mean over every real token of the counted examples
  (token-weighted, as sign language transformers train: with the pose
  losses' per-example mean the quick back-translator learnt measurably
  slower). So that the trainer's mean over examples is that scalar,
  per_example_loss_b = (sum of b's token losses) / (mean token count of the
  counted examples).

  Returns:
    (scalar loss, aux) with aux = {"text_xent", "token_accuracy",
    "per_example_loss" [B], "per_example_mse" [B]}; the last equals
    per_example_loss, so the RL objective's "mse" mode (its weighted mean)
    and its rewards work unchanged on this mode.
  """
  logits_BxLxV = model_out["text_logits"]
  text_BxL = batch["text"]
  mask_BxL = batch["text_mask"].astype(bool)
  xent_BxL = optax.softmax_cross_entropy_with_integer_labels(
      logits_BxLxV.astype(jnp.float32), text_BxL)
  sum_B = jnp.where(mask_BxL, xent_BxL, 0.0).sum(axis=1)
  w_B = _example_weights(mask_BxL, batch["example_mask"])
  count_B = mask_BxL.sum(axis=1).astype(jnp.float32)
  mean_count = (count_B * w_B).sum() / jnp.maximum(w_B.sum(), 1.0)
  per_example_B = sum_B / jnp.maximum(mean_count, 1.0)
  loss = _weighted_mean(per_example_B, w_B)
  aux = {"text_xent": loss,
         "token_accuracy": token_accuracy(
             logits_BxLxV, text_BxL, mask_BxL,
             example_mask_B=batch["example_mask"]),
         "per_example_loss": per_example_B, "per_example_mse": per_example_B}
  return loss, aux


def future_targets(pose_BxTxF, mask_BxT, k: int):
  """Targets for k-frame future prediction, flattened to [B, T*k, F].

  Slot j at position t is frame t + j; slots past the sequence are masked.
  The matching prediction layout is pred_BxTx(kF).reshape(B, T*k, F).
  """
  if k == 1:
    return pose_BxTxF, mask_BxT
  b, t, f = pose_BxTxF.shape
  pose_pad = jnp.pad(pose_BxTxF, ((0, 0), (0, k - 1), (0, 0)))
  mask_pad = jnp.pad(mask_BxT, ((0, 0), (0, k - 1)))
  target_BxTxKxF = jnp.stack([pose_pad[:, j:j + t] for j in range(k)], 2)
  mask_BxTxK = jnp.stack([mask_pad[:, j:j + t] for j in range(k)], 2)
  return (target_BxTxKxF.reshape(b, t * k, f),
          mask_BxTxK.reshape(b, t * k))


def guided_attention(probs_BxTxL, frame_mask_BxT, src_mask_BxL, *,
                     sigma: float, example_mask_B=None):
  """The guided-attention penalty (Tachibana et al. 2018): per example, the
  mean over real frames t of sum_l A[t, l] * (1 - exp(-(p_l - p_t)^2 /
  (2 sigma^2))), where p_t = (t + 0.5) / T and p_l = (l + 0.5) / L are the
  relative positions of frame t among the example's T frames and of source
  token l among its L tokens. 0 when every frame reads the text at its own
  relative position; near 1 far from it. Returns (scalar, per-example [B])."""
  frame_m = frame_mask_BxT.astype(jnp.float32)
  src_m = src_mask_BxL.astype(jnp.float32)
  t_B = jnp.maximum(frame_m.sum(1), 1.0)
  l_B = jnp.maximum(src_m.sum(1), 1.0)
  pos_t_BxT = (jnp.arange(frame_m.shape[1]) + 0.5)[None] / t_B[:, None]
  pos_l_BxL = (jnp.arange(src_m.shape[1]) + 0.5)[None] / l_B[:, None]
  d_BxTxL = pos_l_BxL[:, None, :] - pos_t_BxT[:, :, None]
  w_BxTxL = 1.0 - jnp.exp(-jnp.square(d_BxTxL) / (2.0 * sigma ** 2))
  per_frame_BxT = (probs_BxTxL * w_BxTxL * src_m[:, None, :]).sum(-1)
  per_B = (per_frame_BxT * frame_m).sum(1) / t_B
  if example_mask_B is None:
    example_mask_B = jnp.ones_like(t_B, bool)
  return _weighted_mean(per_B, example_mask_B.astype(jnp.float32)), per_B


def total_loss(model_out, batch, model_cfg: ml_collections.ConfigDict):
  """The training objective of any model mode.

  Mode "backtranslate": `backtranslation_loss`. The pose models:
  loss = pose_loss (if the model predicted poses)
         + the pose-token cross-entropy, the mean of the three streams'
           `token_xent` (token decoder; it also stands in for the MSE in
           per_example_mse, the RL objective's error signal)
         + length_loss_weight * (log_length - log T)^2 (with a length head)
         + guided_attention_weight * guided_attention (if it returned the
           cross-attention weights)
         + gloss_loss_weight * token_xent (if it predicted gloss logits).
  With future prediction k > 1 the pose loss covers every existing future
  frame (future_targets) with the same per-example reduction.

  Returns:
    (scalar loss, aux) with aux = {"pose_loss", "gloss_xent",
    "per_example_mse" [B] (the MSE of the pose term, whatever model_cfg.loss
    is; zeros without poses), "per_example_loss" [B] (pose + w * xent)}.
  """
  model_cfg = variants.resolve(model_cfg)
  if model_cfg.mode == "backtranslate":
    return backtranslation_loss(model_out, batch)
  if model_cfg.mode == "pose_tokenizer":
    return pose_tokenizer.reconstruction_loss(model_out, batch)
  example_mask_B = batch["example_mask"]
  b = example_mask_B.shape[0]
  zeros_B = jnp.zeros((b,), jnp.float32)
  loss = jnp.zeros((), jnp.float32)
  aux = {"pose_loss": loss, "gloss_xent": loss, "per_example_mse": zeros_B}
  per_example_loss_B = zeros_B
  if "pose" in model_out:
    k = model_cfg.future_prediction
    target, mask = future_targets(batch["pose"], batch["pose_mask"], k)
    pred = model_out["pose"].reshape(target.shape)
    pose, per_pose_B = pose_loss(pred, target, mask, kind=model_cfg.loss,
                                 example_mask_B=example_mask_B)
    if model_cfg.loss == "mse":
      per_mse_B = per_pose_B
    else:
      _, per_mse_B = pose_loss(pred, target, mask, kind="mse",
                               example_mask_B=example_mask_B)
    loss = loss + pose
    per_example_loss_B = per_example_loss_B + per_pose_B
    aux.update(pose_loss=pose, per_example_mse=per_mse_B)
  if "pose_token_logits" in model_out:
    logits_BxNxSxV = model_out["pose_token_logits"]
    targets_BxNxS = model_out["pose_token_targets"]
    mask_BxN = model_out["pose_token_mask"]
    per_tok_B = zeros_B
    for i, name in enumerate(pose_tokenizer.PART_NAMES):
      xent, per_B = token_xent(logits_BxNxSxV[:, :, i], targets_BxNxS[..., i],
                               mask_BxN, example_mask_B=example_mask_B)
      aux[f"token_xent_{name}"] = xent
      per_tok_B = per_tok_B + per_B / len(pose_tokenizer.PART_NAMES)
    tok = _weighted_mean(per_tok_B, _example_weights(mask_BxN,
                                                     example_mask_B))
    aux["token_xent"] = tok
    aux["token_accuracy"] = token_accuracy(
        logits_BxNxSxV.reshape(b, -1, logits_BxNxSxV.shape[-1]),
        targets_BxNxS.reshape(b, -1),
        jnp.repeat(mask_BxN, targets_BxNxS.shape[-1], axis=1),
        example_mask_B=example_mask_B)
    loss = loss + tok
    per_example_loss_B = per_example_loss_B + per_tok_B
    aux["per_example_mse"] = per_tok_B
  if "cross_attn" in model_out:
    w = model_cfg.guided_attention_weight
    guided, per_guided_B = guided_attention(
        model_out["cross_attn"], batch["pose_mask"],
        model_out["cross_attn_src_mask"],
        sigma=model_cfg.guided_attention_sigma,
        example_mask_B=example_mask_B)
    loss = loss + w * guided
    per_example_loss_B = per_example_loss_B + w * per_guided_B
    aux["guided_attention"] = guided
  if "log_length" in model_out:
    # Squared error of log(frames): relative length errors weigh the same
    # for short and long clips.
    w = model_cfg.length_loss_weight
    target_B = jnp.log(jnp.maximum(batch["length"].astype(jnp.float32), 1.0))
    per_len_B = jnp.square(model_out["log_length"] - target_B)
    length = _weighted_mean(per_len_B, example_mask_B.astype(jnp.float32))
    loss = loss + w * length
    per_example_loss_B = per_example_loss_B + w * per_len_B
    aux["length_loss"] = length
  if "gloss_logits" in model_out:
    w = model_cfg.gloss_loss_weight
    xent, per_xent_B = token_xent(
        model_out["gloss_logits"][:, :-1], batch["lang_gloss"][:, 1:],
        batch["lang_gloss_mask"][:, 1:], example_mask_B=example_mask_B)
    loss = loss + w * xent
    per_example_loss_B = per_example_loss_B + w * per_xent_B
    aux["gloss_xent"] = xent
  aux["per_example_loss"] = per_example_loss_B
  return loss, aux
