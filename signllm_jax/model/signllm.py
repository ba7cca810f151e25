"""SignLLM models: MLSF (stacked per-language groups), shared multilingual,
Prompt2LangGloss and the back-translator (model/backtranslator.py);
`build_model` is the one entry point.

Every model maps a batch dict (see docs/CONVENTIONS.md) to a dict:
  "pose":         [B, T, 151 * k] teacher-forced predictions; position t
                  predicts batch["pose"][:, t] (and the k-1 following frames).
  "pose_token_logits" / "pose_token_targets" / "pose_token_mask":
                  [B, N+1, 3, K+1] / [B, N+1, 3] / [B, N+1] instead of
                  "pose" with model.pose_decoder = "tokens": the frozen
                  pose tokenizer's codes of batch["pose"] are the targets
                  (model/pose_token_decoder.py).
  "log_length":   [B] predicted log(frame count) (model.length_head only).
  "gloss_logits": [B, G, V] (Prompt2LangGloss); position g predicts
                  batch["lang_gloss"][:, g + 1].
  "text_logits":  [B, L, V] (back-translator); position l predicts
                  batch["text"][:, l].

MLSF: the per-language encoder-decoders are created with `nnx.vmap`, so each
parameter carries a leading "lang" axis (under the attribute `groups`). A batch
is single-language; `lang = batch["lang"][0]` (traced) slices one group, so
one compiled step serves every language. The train step (steps.py) cuts the
batch's group out of the stacked params AND optimizer moments, updates that
slice alone and writes it back: a dense masked gradient would still move
idle groups through Adam's momentum, and costs clipping and Adam over all
groups.

Randomness: modules hold no RNG state except the top-level `rngs`
(stream "dropout"), drawn only in training when dropout or input noise is on.
A jitted step must return the updated model state so masks change per step.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from signllm_jax.data import tokenizer
from signllm_jax.model import backtranslator
from signllm_jax.model import encoder
from signllm_jax.model import layers
from signllm_jax.model import fsq
from signllm_jax.model import pose_decoder
from signllm_jax.model import pose_token_decoder
from signllm_jax.model import pose_tokenizer
from signllm_jax.model import token_decoder
from signllm_jax.model import variants

GROUPS_ATTR = "groups"
# Selects the MLSF stacked leaves in nnx.state(model) (and optimizer state).
group_axis_filter = nnx.PathContains(GROUPS_ATTR)


# Centres the untrained length head on 2 s clips at 25 fps (50 frames): the
# first steps' log-length error is then O(1) instead of O(log(T)^2) ~ 16,
# which would swamp the pose loss's gradient under global-norm clipping.
LOG_LENGTH_OFFSET = float(np.log(50.0))


class NoiseScale(nnx.Variable):
  """Per joint-channel multiplier of decoder input noise (not trained)."""


class EncDec(nnx.Module):
  """Text (or LangGloss) -> pose encoder-decoder: one language group."""

  def __init__(self, cfg: ml_collections.ConfigDict, *, vocab_size: int,
               num_langs: int, rngs: nnx.Rngs):
    """num_langs > 0 adds a learned language embedding (shared model)."""
    self.encoder = encoder.Encoder(
        vocab_size=vocab_size, d_model=cfg.d_model, num_heads=cfg.num_heads,
        d_ff=cfg.d_ff, num_layers=cfg.num_encoder_layers,
        dropout_rate=cfg.dropout, compute_dtype=cfg.compute_dtype, rngs=rngs)
    self.tokens = cfg.pose_decoder == "tokens"
    if self.tokens:
      self.decoder = pose_token_decoder.PoseTokenDecoder(
          d_model=cfg.d_model, num_heads=cfg.num_heads, d_ff=cfg.d_ff,
          num_layers=cfg.num_decoder_layers, dropout_rate=cfg.dropout,
          codebook_size=fsq.codebook_size(cfg.fsq_levels),
          compute_dtype=cfg.compute_dtype, rngs=rngs)
    else:
      self.decoder = pose_decoder.PoseDecoder(
          d_model=cfg.d_model, num_heads=cfg.num_heads, d_ff=cfg.d_ff,
          num_layers=cfg.num_decoder_layers, dropout_rate=cfg.dropout,
          frame_dim=cfg.frame_dim, future=cfg.future_prediction,
          counter_only=cfg.counter_only_input, noise_std=cfg.input_noise_std,
          compute_dtype=cfg.compute_dtype, rngs=rngs)
    # The guided-attention loss (losses.guided_attention) needs the
    # continuous decoder's cross-attention weights in training.
    self.guided = bool(cfg.guided_attention_weight) and not self.tokens
    if cfg.guided_attention_weight and self.tokens:
      raise ValueError("model.guided_attention_weight applies to the "
                       "continuous pose decoder, not pose_decoder=tokens")
    self.length_head = nnx.data(None)
    if cfg.length_head:
      self.length_head = layers.Dense(cfg.d_model, 1, ("embed", "frame"),
                                      rngs=rngs)
    self.lang_embed = nnx.data(None)
    if num_langs:
      self.lang_embed = layers.param(
          rngs, nnx.initializers.normal(0.02), (num_langs, cfg.d_model),
          ("lang", "embed"))

  def _lang_vec(self, lang_B):
    if self.lang_embed is None or lang_B is None:
      return None
    return jnp.take(self.lang_embed[...], lang_B, axis=0)

  def encode(self, tokens_BxL, mask_BxL, lang_B=None, *, key=None):
    return self.encoder(tokens_BxL, mask_BxL, extra_BxD=self._lang_vec(lang_B),
                        key=key)

  def decode(self, inputs, enc_BxLxD, enc_mask_BxL, lang_B=None, *,
             train: bool, cache=None, cache_index=None, key=None,
             noise_scale_C=None, with_probs: bool = False):
    """inputs: frames [B, T, F] (continuous) or tokens [B, N, 3] (tokens);
    returns (frames [B, T, F*k] or logits [B, N, 3, K+1], cache), plus the
    continuous decoder's cross-attention weights [B, T, L] with_probs."""
    if self.tokens:
      return self.decoder(inputs, enc_BxLxD, enc_mask_BxL, train=train,
                          cache=cache, cache_index=cache_index,
                          extra_BxD=self._lang_vec(lang_B), key=key)
    return self.decoder(inputs, enc_BxLxD, enc_mask_BxL,
                        train=train, cache=cache, cache_index=cache_index,
                        extra_BxD=self._lang_vec(lang_B), key=key,
                        noise_scale_C=noise_scale_C, with_probs=with_probs)

  def predict_log_length(self, enc_BxLxD, enc_mask_BxL):
    """log(frame count) [B] from the mean of the real encoder positions."""
    if self.length_head is None:
      raise ValueError("this model has no length head (model.length_head)")
    w_BxL = enc_mask_BxL.astype(jnp.float32)
    pooled_BxD = jnp.einsum("bl,bld->bd", w_BxL,
                            enc_BxLxD.astype(jnp.float32)) / jnp.maximum(
                                w_BxL.sum(-1, keepdims=True), 1.0)
    return self.length_head(pooled_BxD)[:, 0] + LOG_LENGTH_OFFSET

  def __call__(self, tokens_BxL, mask_BxL, targets, lang_B=None, *,
               train: bool, key=None, noise_scale_C=None):
    """Teacher-forced outputs: {"pose": [B, T, 151 * k] aligned with the
    target frames [B, T, F] (continuous), or "pose_token_logits" for the
    teacher-forcing token inputs [B, N+1, 3] (tokens); "log_length": [B]
    with a length head}."""
    key = key if train else None
    enc_BxLxD = self.encode(tokens_BxL, mask_BxL, lang_B,
                            key=layers.fold(key, 0))
    inputs = targets if self.tokens else pose_decoder.shift_right(targets)
    guided = self.guided and train
    pred, _, *probs = self.decode(
        inputs, enc_BxLxD, mask_BxL, lang_B, train=train,
        key=layers.fold(key, 1), noise_scale_C=noise_scale_C,
        with_probs=guided)
    out = {"pose_token_logits" if self.tokens else "pose": pred}
    if guided:
      out.update(cross_attn=probs[0], cross_attn_src_mask=mask_BxL)
    if self.length_head is not None:
      out["log_length"] = self.predict_log_length(enc_BxLxD, mask_BxL)
    return out


class PromptToGloss(nnx.Module):
  """Stage 1 of Prompt2LangGloss: prompt encoder + LangGloss decoder."""

  def __init__(self, cfg: ml_collections.ConfigDict, *, vocab_size: int,
               rngs: nnx.Rngs):
    self.encoder = encoder.Encoder(
        vocab_size=vocab_size, d_model=cfg.d_model, num_heads=cfg.num_heads,
        d_ff=cfg.d_ff, num_layers=cfg.gloss_encoder_layers,
        dropout_rate=cfg.dropout, compute_dtype=cfg.compute_dtype, rngs=rngs)
    self.decoder = token_decoder.TokenDecoder(
        vocab_size=vocab_size, d_model=cfg.d_model, num_heads=cfg.num_heads,
        d_ff=cfg.d_ff, num_layers=cfg.gloss_decoder_layers,
        dropout_rate=cfg.dropout, compute_dtype=cfg.compute_dtype, rngs=rngs)

  def encode(self, prompt_BxL, prompt_mask_BxL, *, key=None):
    return self.encoder(prompt_BxL, prompt_mask_BxL, key=key)

  def __call__(self, prompt_BxL, prompt_mask_BxL, gloss_in_BxG, *, key=None):
    """Teacher-forced logits [B, G, V]; position g predicts token g + 1."""
    enc_BxLxD = self.encode(prompt_BxL, prompt_mask_BxL,
                            key=layers.fold(key, 0))
    logits, _ = self.decoder(gloss_in_BxG, enc_BxLxD, prompt_mask_BxL,
                             key=layers.fold(key, 1))
    return logits


class _Base(nnx.Module):
  """Shared plumbing: config, RNG stream, input-noise scale."""

  def __init__(self, cfg, rngs: nnx.Rngs):
    self.needs_rng = bool(cfg.dropout > 0 or cfg.input_noise_std > 0)
    self.rngs = nnx.Rngs(dropout=rngs.dropout())
    self.noise_scale = NoiseScale(
        jnp.ones((cfg.frame_dim - 1,), jnp.float32))
    # The frozen tokenizer whose codes the token decoder predicts
    # (model/pose_token_decoder.py); its weights come from the tokenizer's
    # workdir (train.py) and live in this model's checkpoints.
    self.pose_tokenizer = nnx.data(None)
    if cfg.pose_decoder == "tokens":
      self.pose_tokenizer = layers.freeze(
          pose_tokenizer.PoseTokenizer(cfg, rngs=rngs))

  def _train_key(self, train: bool):
    return self.rngs.dropout() if (train and self.needs_rng) else None

  def pose_branch(self, batch):
    """(encoder-decoder, source tokens, source mask, lang_B or None)."""
    raise NotImplementedError

  def pose_tokens(self, pose_BxTxF):
    """The frozen tokenizer's codes [B, ceil(T / ds), 3] of normalised
    frames (T padded with zero frames up to a multiple of ds)."""
    ds = self.pose_tokenizer.downsample
    pad = -pose_BxTxF.shape[1] % ds
    if pad:
      pose_BxTxF = jnp.pad(pose_BxTxF, ((0, 0), (0, pad), (0, 0)))
    indices = self.pose_tokenizer.tokenize(pose_BxTxF)
    return jax.lax.stop_gradient(jnp.stack(
        [indices[name] for name in pose_tokenizer.PART_NAMES], axis=-1))

  def _pose(self, batch, train) -> dict:
    """{"pose" (or the token logits, targets and mask), and "log_length"
    with a length head}."""
    encdec, tokens, mask, lang_B = self.pose_branch(batch)
    if self.pose_tokenizer is None:
      return encdec(tokens, mask, batch["pose"], lang_B, train=train,
                    key=self._train_key(train),
                    noise_scale_C=self.noise_scale[...])
    inputs, targets, token_mask = pose_token_decoder.teacher_forcing(
        self.pose_tokens(batch["pose"]), batch["length"],
        downsample=self.pose_tokenizer.downsample,
        codebook_size=self.pose_tokenizer.codebook_size)
    out = encdec(tokens, mask, inputs, lang_B, train=train,
                 key=self._train_key(train))
    out.update(pose_token_targets=targets, pose_token_mask=token_mask)
    return out


class MLSFModel(_Base):
  """One text->pose group per language, stacked on a leading "lang" axis."""

  def __init__(self, cfg, *, vocab_size: int, num_langs: int,
               rngs: nnx.Rngs):
    super().__init__(cfg, rngs)
    self.num_langs = num_langs

    @nnx.vmap(in_axes=0, out_axes=0,
              transform_metadata={nnx.PARTITION_NAME: "lang"})
    def create(key):
      return EncDec(cfg, vocab_size=vocab_size, num_langs=0,
                    rngs=nnx.Rngs(key))

    setattr(self, GROUPS_ATTR,
            create(jax.random.split(rngs.params(), num_langs)))

  def group(self, lang) -> EncDec:
    """The (traced) group `lang` as a plain EncDec sharing sliced params."""
    graphdef, state = nnx.split(getattr(self, GROUPS_ATTR))
    return nnx.merge(graphdef, jax.tree.map(lambda x: x[lang], state))

  def pose_branch(self, batch):
    return (self.group(batch["lang"][0]), batch["text"], batch["text_mask"],
            None)

  def __call__(self, batch, *, train: bool):
    return self._pose(batch, train)


class SharedMultilingualModel(_Base):
  """One text->pose model for all languages + a learned language embedding."""

  def __init__(self, cfg, *, vocab_size: int, num_langs: int,
               rngs: nnx.Rngs):
    super().__init__(cfg, rngs)
    self.encdec = EncDec(cfg, vocab_size=vocab_size, num_langs=num_langs,
                         rngs=rngs)

  def pose_branch(self, batch):
    return self.encdec, batch["text"], batch["text_mask"], batch["lang"]

  def __call__(self, batch, *, train: bool):
    return self._pose(batch, train)


class P2LGModel(_Base):
  """Prompt -> LangGloss (stage 1) and LangGloss -> pose (stage 2)."""

  def __init__(self, cfg, *, vocab_size: int, num_langs: int,
               rngs: nnx.Rngs):
    del num_langs  # the language tags inside the LangGloss select behaviour
    super().__init__(cfg, rngs)
    if cfg.p2lg_stage not in ("joint", "gloss", "pose"):
      raise ValueError("model.p2lg_stage must be joint, gloss or pose, got "
                       f"{cfg.p2lg_stage!r}")
    self.stage = cfg.p2lg_stage
    self.gloss = PromptToGloss(cfg, vocab_size=vocab_size, rngs=rngs)
    self.pose = EncDec(cfg, vocab_size=vocab_size, num_langs=0, rngs=rngs)
    # Trained apart, the stage a run does not train is frozen: no optimizer
    # state, no update, bit-identical through the run (a "pose" run's stage
    # 1 comes from model.gloss_workdir, gloss_source.py).
    if self.stage == "pose":
      layers.freeze(self.gloss)
    elif self.stage == "gloss":
      layers.freeze(self.pose)

  def pose_branch(self, batch):
    return self.pose, batch["lang_gloss"], batch["lang_gloss_mask"], None

  def __call__(self, batch, *, train: bool):
    out = {}
    if self.stage in ("joint", "pose"):
      out.update(self._pose(batch, train))
    if self.stage in ("joint", "gloss"):
      key = self._train_key(train)
      out["gloss_logits"] = self.gloss(batch["prompt"], batch["prompt_mask"],
                                       batch["lang_gloss"], key=key)
    return out


MODES = ("mlsf", "p2lg", "backtranslate", "pose_tokenizer")
POSE_DECODERS = ("continuous", "tokens")


def build_model(model_cfg: ml_collections.ConfigDict, *, vocab_size: int,
                num_langs: int, rngs: nnx.Rngs) -> nnx.Module:
  """Builds the model named by model_cfg.mode / shared_multilingual.

  model_cfg is resolved by `variants.resolve`: the named variant's sizes and
  defaults, overridden by whatever fields model_cfg sets. Parameters are
  sharded eagerly (flax's default) only when a mesh is set (`jax.set_mesh`);
  otherwise they are created unsharded and keep their logical axis names as
  metadata for the caller to shard.
  """
  model_cfg = variants.resolve(model_cfg)
  if model_cfg.pose_decoder not in POSE_DECODERS:
    raise ValueError(f"model.pose_decoder must be one of "
                     f"{', '.join(POSE_DECODERS)}, got "
                     f"{model_cfg.pose_decoder!r}")
  if model_cfg.mode == "backtranslate":
    # One SentencePiece vocabulary: the pipeline's text rows use its ids.
    return backtranslator.BackTranslator(
        model_cfg, vocab_size=vocab_size, bos_id=tokenizer.BOS_ID, rngs=rngs)
  if model_cfg.mode == "pose_tokenizer":
    return pose_tokenizer.PoseTokenizer(model_cfg, rngs=rngs)
  if model_cfg.mode == "mlsf":
    cls = (SharedMultilingualModel if model_cfg.shared_multilingual
           else MLSFModel)
  elif model_cfg.mode == "p2lg":
    cls = P2LGModel
  else:
    raise ValueError(f"model.mode must be one of {', '.join(MODES)}, got "
                     f"{model_cfg.mode!r}")
  return cls(model_cfg, vocab_size=vocab_size, num_langs=num_langs, rngs=rngs)


def param_count_per_group(variant: str, vocab_size: int | None = None, *,
                          mode: str = "mlsf") -> int:
  """Parameters of one model of `variant`'s sizes, counted abstractly.

  mode "mlsf" (and "p2lg"'s stage 2) counts one text->pose encoder-decoder
  (one MLSF language group); "backtranslate" the whole back-translator.
  vocab_size defaults to the variant's.
  """
  cfg = variants.model_config(variant)
  vocab = vocab_size or variants.get_variant(variant).vocab_size
  if mode == "backtranslate":
    cfg.mode = mode
    build = lambda: build_model(cfg, vocab_size=vocab, num_langs=0,
                                rngs=nnx.Rngs(0))
  else:
    build = lambda: EncDec(cfg, vocab_size=vocab, num_langs=0,
                           rngs=nnx.Rngs(0))
  return variants.count_params(nnx.eval_shape(build))


def stacked_param_mask(state):
  """Pytree of bools like `state`: True on leaves with the leading lang axis.

  Works on nnx.state(model) and on optimizer states that mirror the model's
  paths (nnx.Optimizer's mu/nu): the leaves a per-group update slices.
  """
  def is_stacked(path, _):
    return any(getattr(k, "key", getattr(k, "name", None)) == GROUPS_ATTR
               for k in path)
  return jax.tree_util.tree_map_with_path(is_stacked, state)

