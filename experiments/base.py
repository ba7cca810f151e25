"""All defaults, in one place. Every experiment file starts from get_config().

Paper-faithful where the paper is clear (PAPER.md): Adam lr 1e-3, clipping 5,
batch 8, MSE loss, 2+2 layers; the rest is documented where it is decided.
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  del arg
  cfg = ml_collections.ConfigDict()
  cfg.seed = 0

  # Data: raw -> TFDS (array_record) -> grain -> sharded global batch.
  cfg.data = ml_collections.ConfigDict(dict(
      name="synth_sign",          # TFDS builder: synth_sign | prompt2sign
      config="tiny",              # builder config (size or language)
      data_dir="",                # "" = $TFDS_DATA_DIR or ~/tensorflow_datasets
      langs="all",                # "all" or "ASL,GSL"
      batch_size=8,               # global batch (PT: 8)
      max_frames=256,             # longest sequence kept; longer ones truncated
      frame_buckets=(64, 128, 256),  # static padded lengths: one compile each
      max_text_len=48,
      max_prompt_len=96,
      max_gloss_len=64,
      language_homogeneous=True,  # MLSF needs one language per batch
      shuffle_seed=0,
      worker_count=0,             # grain worker processes
      prefetch=2,
  ))

  cfg.model = ml_collections.ConfigDict(dict(
      variant="smoke",            # smoke | pt-base | base-40m | large-120m | super-1b
      mode="mlsf",                # mlsf | p2lg
      shared_multilingual=False,  # mlsf only: one model + language embedding
      p2lg_stage="joint",         # joint | gloss | pose
      gloss_loss_weight=1.0,
      future_prediction=1,        # PT option: predict k frames ahead
      input_noise_std=0.0,        # PT option: Gaussian noise on decoder input
      counter_only_input=False,   # PT option: decoder sees only the counter
      dropout=0.0,                # PT base: 0
      compute_dtype="float32",    # float32 | bfloat16
      loss="mse",                 # mse | l1
  ))

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

  cfg.rl = ml_collections.ConfigDict(dict(
      mode="mse",                 # mse | rl | rl_plc
      eta=1.0,
      priority_fn="exp",          # exp | inv_mse | rank
      skip_rule="batch_quantile",  # batch_quantile | normalised | none
      skip_threshold=0.5,
      replay_capacity=1024,
      replay_fraction=0.25,
      is_beta=-1.0,               # < 0: no importance-sampling correction
      min_replay_size=64,
  ))

  cfg.generate = ml_collections.ConfigDict(dict(
      max_frames=256,
      length="counter",           # counter | oracle (PT's ground-truth timing)
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
  return cfg
