"""All defaults, in one place. Every experiment file starts from get_config().

Paper-faithful where the paper is clear (PAPER.md): Adam lr 1e-3, clipping 5,
batch 8, MSE loss, 2+2 layers; the rest is documented where it is decided.
"""

import ml_collections

from signllm_jax import rl
from signllm_jax.data import pipeline
from signllm_jax.model import variants

_VARIANT_SIZE_FIELDS = ("num_encoder_layers", "num_decoder_layers",
                        "gloss_encoder_layers", "gloss_decoder_layers",
                        "d_model", "num_heads", "d_ff")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  del arg
  cfg = ml_collections.ConfigDict()
  cfg.seed = 0

  # Data: raw -> TFDS (array_record) -> grain -> sharded global batch. The
  # fields and their meaning: signllm_jax/data/pipeline.py.
  cfg.data = pipeline.default_data_config()

  # Model: every field of signllm_jax/model/variants.py; the size fields are
  # None = taken from the named variant, so one override changes the size.
  cfg.model = variants.model_config("smoke")
  for size_field in _VARIANT_SIZE_FIELDS:
    cfg.model[size_field] = ml_collections.config_dict.placeholder(int)
  cfg.model.variant = "smoke"

  cfg.optim = ml_collections.ConfigDict(dict(
      name="adam", lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0,
      clip_norm=5.0, schedule="constant", warmup_steps=0, final_lr_frac=0.0,
      plateau_factor=0.7, plateau_patience=5, plateau_accumulation=100,
  ))

  cfg.train = ml_collections.ConfigDict(dict(
      steps=2000,
      log_every=20,
      eval_every=500,
      eval_batches=8,             # dev batches per periodic validation
      # Free-running dev DTW-MJE (generated poses, generate.length timing)
      # every N steps (0 = off) on the first dev examples of each language.
      gen_eval_every=0,
      gen_eval_per_lang=16,
      ckpt_every=500,
      max_to_keep=3,
      async_checkpointing=True,
      max_consecutive_nonfinite=20,  # then stop with a clear message
      progress=True,
  ))

  # Mesh axes (data, fsdp, tensor); -1 takes the remaining devices.
  cfg.mesh = ml_collections.ConfigDict(dict(
      data=-1, fsdp=1, tensor=1,
      # logical parameter / activation axis -> mesh axis (None = replicated)
      rules=[
          ("batch", ("data", "fsdp")),
          ("lang", None),
          ("vocab", "tensor"),
          ("embed", "fsdp"),
          ("mlp", "tensor"),
          ("heads", "tensor"),
          ("kv", None),
          ("frame", None),
      ],
  ))

  # RL loss and Priority Learning Channel: signllm_jax/rl/__init__.py.
  cfg.rl = rl.default_rl_config()

  cfg.generate = ml_collections.ConfigDict(dict(
      max_frames=256,
      # The model's own timing: auto (its length head if it has one, else
      # its counter) | counter | length. Oracle timing is evaluation-only.
      length="auto",
      counter_threshold=0.995,
      gloss_decoding="greedy",    # greedy | beam
      beam_size=4,
      max_gloss_len=64,
  ))

  cfg.evaluate = ml_collections.ConfigDict(dict(
      split="test",
      max_examples=-1,            # -1 = all
      backtranslation_workdir="",  # a trained sign-to-text model ("" = none)
      render_samples=1,           # rendered samples per language
  ))

  # The evaluators `signllm evaluate` runs (signllm_jax/evaluate/
  # evaluators.py); each family can be turned off, e.g.
  # --config.evals.render.enabled=False.
  cfg.evals = ml_collections.ConfigDict({
      "pose_distance": {"enabled": True, "units_divisor": 3.0},
      "hand_motion": {"enabled": True},
      "backtranslation": {"enabled": True, "samples": 3},
      "gloss_accuracy": {"enabled": True},
      "langgloss": {"enabled": True},
      "render": {"enabled": True, "size": 200},
  })
  return cfg
