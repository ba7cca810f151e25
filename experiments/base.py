"""All defaults, in one place. Every experiment file starts from get_config().

The library reads its defaults from here too (pipeline.default_data_config,
rl.default_rl_config, variants.model_config, evaluators.default_evals_config
return these blocks), so nothing else holds a default.

Paper-faithful where the paper is clear (PAPER.md): Adam lr 1e-3, clipping 5,
batch 8, MSE loss, 2+2 layers; the rest is documented where it is decided.
"""

import ml_collections

# The model fields a named variant sizes (model/variants.py).
VARIANT_SIZE_FIELDS = ("num_encoder_layers", "num_decoder_layers",
                       "gloss_encoder_layers", "gloss_decoder_layers",
                       "d_model", "num_heads", "d_ff")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  del arg
  cfg = ml_collections.ConfigDict()
  cfg.seed = 0

  # Data: raw -> TFDS (array_record) -> grain -> sharded global batch. The
  # fields' meaning: signllm_jax/data/pipeline.py.
  cfg.data = ml_collections.ConfigDict(dict(
      name="synth_sign",            # synth_sign | prompt2sign | pose_lexicon
      config="tiny",
      data_dir=ml_collections.config_dict.placeholder(str),
      langs="all",                  # "all" or "ASL,GSL,..."
      train_split="train",
      eval_split="dev",
      batch_size=8,                 # global rows per step (the paper's 8)
      max_frames=256,
      frame_buckets=(64, 128, 256),  # padded lengths; the last = max_frames
      too_long="filter",            # filter | truncate
      max_text_len=64,              # tokens, EOS included
      max_prompt_len=96,
      max_gloss_len=96,
      language_homogeneous=True,    # one language per batch (MLSF groups)
      lang_weights="proportional",  # proportional | uniform | temperature
      lang_alpha=0.3,               # temperature: p ~ n^alpha
      pose_stats="global",          # global | per_lang (docs/REAL_DATA.md)
      shuffle_seed=0,
      worker_count=0,               # grain worker processes
      read_threads=4,
      prefetch=4,
  ))

  # Model: every field build_model reads (signllm_jax/model/); the size
  # fields are None = the named variant's, so one override resizes it.
  cfg.model = ml_collections.ConfigDict(dict(
      variant="smoke",
      # "mlsf": one encoder-decoder group per language (stacked);
      # "p2lg": prompt -> LangGloss (stage 1) -> pose (stage 2);
      # "backtranslate": pose -> text (model/backtranslator.py);
      # "pose_tokenizer": poses -> per-part FSQ tokens -> poses
      # (model/pose_tokenizer.py).
      mode="mlsf",
      # mlsf only: one shared encoder-decoder + learned language embedding.
      shared_multilingual=False,
      # "joint" | "gloss" | "pose": the stage(s) this run trains; the other
      # is frozen. A "pose" run adopts a trained stage 1 from the workdir
      # `gloss_workdir` names (signllm_jax/gloss_source.py).
      p2lg_stage="joint",
      gloss_workdir="",
      gloss_loss_weight=1.0,  # w in pose + w * xent ("joint")
      dropout=0.0,  # PT base: 0
      compute_dtype="float32",  # or "bfloat16"; params stay float32
      frame_dim=151,
      future_prediction=1,  # k frames predicted per position
      counter_only_input=False,  # decoder input = counter channel only
      input_noise_std=0.0,  # Gaussian noise on decoder input joints (train)
      # A head on the pooled encoder output predicting log(frames): the
      # model's own timing without a counter threshold (length mode
      # "length" at generation; see generate/pose_decode.py).
      length_head=False,
      length_loss_weight=1.0,
      # Guided attention (Tachibana et al. 2018, DC-TTS): w * the mean of
      # (1 - exp(-(l/L - t/T)^2 / (2 sigma^2))) under the continuous
      # decoder's cross-attention, which pushes frame t to read the text
      # near its relative position while the alignment is still being
      # learned (losses.guided_attention). 0 = off.
      guided_attention_weight=0.0,
      guided_attention_sigma=0.2,
      loss="mse",  # "mse" | "l1"
      # pose_tokenizer only: conv width, frames per token, FSQ levels
      # (8*5*5*5 = 1000 codes per part, the paper's 1k codebook).
      tokenizer_channels=128,
      tokenizer_downsample=4,
      fsq_levels=(8, 5, 5, 5),
      # mlsf / p2lg stage 2: "continuous" regresses frames (pose_decoder.py);
      # "tokens" predicts a trained pose tokenizer's codes
      # (pose_token_decoder.py), whose workdir `tokenizer_workdir` names;
      # its tokenizer_* / fsq_levels fields are copied from there.
      pose_decoder="continuous",
      tokenizer_workdir="",
  ))
  # Sizes: None = the named variant's (model/variants.py VARIANTS); the
  # stage-1 (prompt -> LangGloss) depths default to the pose model's.
  for size_field in VARIANT_SIZE_FIELDS:
    cfg.model[size_field] = ml_collections.config_dict.placeholder(int)

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

  # RL loss and Priority Learning Channel (fields: signllm_jax/rl/).
  cfg.rl = ml_collections.ConfigDict(dict(
      mode="mse",                 # mse | rl | rl_plc
      eta=1.0,                    # priority intensity
      priority_fn="inv_mse",      # inv_mse | exp | rank
      priority_eps=1e-6,
      skip_rule="batch_quantile",  # batch_quantile | normalised | none
      skip_threshold=0.5,         # the paper's "50%"
      skip_unit="example",        # example | batch (normalised only)
      replay_capacity=1024,
      replay_fraction=0.25,
      replay_mix="replace",       # replace | append
      min_replay_size=64,
  ))
  # None = no importance-sampling correction (the paper's).
  cfg.rl.is_beta = ml_collections.FieldReference(None, field_type=float)

  cfg.generate = ml_collections.ConfigDict(dict(
      max_frames=256,
      # The model's own timing: auto (its length head if it has one, else
      # its counter) | counter | length. Oracle timing is evaluation-only.
      length="auto",
      counter_threshold=0.995,
      # Token decoder only: 0 = greedy; > 0 samples codes at that
      # temperature from the top_k most likely (0 = all), seeded by `seed`.
      temperature=0.0,
      top_k=0,
      seed=0,
      gloss_decoding="greedy",    # greedy | beam
      beam_size=4,
      max_gloss_len=64,
  ))

  cfg.evaluate = ml_collections.ConfigDict(dict(
      split="test",
      max_examples=-1,            # -1 = all
      backtranslation_workdir="",  # a trained sign-to-text model ("" = none)
      render_samples=1,           # rendered samples per language
      # Prompt2LangGloss end to end: decode stage 1 told each prompt's sign
      # language (as `generate --lang` and the serve page do) instead of
      # leaving the tags to the model (generate/gloss_decode.py).
      p2lg_language_given=False,
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
