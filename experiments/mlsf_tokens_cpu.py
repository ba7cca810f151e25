"""MLSF with the token decoder on SynthSign `small`, 2-core CPU: text ->
multi-stream FSQ pose tokens (body, left hand, right hand) -> poses through
the frozen tokenizer (model/pose_token_decoder.py; docs/RESULTS.md,
"Signs, not averages").

One shared model with a language embedding by default (all languages' data
train one decoder; `groups` = one encoder-decoder per language as
mlsf_cpu.py), cpu-2m sized as the continuous recipes so the two compare on
the same footing. The tokenizer is trained first, at most 15 minutes
(experiments/pose_tokenizer.py); its weights are copied into this run's
checkpoints.

COMMAND:
  signllm data build synth_sign --config small
  timeout -s TERM 900 signllm train --config experiments/pose_tokenizer.py \
      --workdir runs/pose_tok
  timeout -s TERM 1800 signllm train --config experiments/mlsf_tokens_cpu.py \
      --workdir runs/mlsf_tokens --config.model.tokenizer_workdir=runs/pose_tok
  signllm evaluate --workdir runs/mlsf_tokens --split test --max_examples 300
Args: `smoke`, `steps=N`, `size=tiny|small`, `groups` (one group per
language), `tokenizer=DIR` (the tokenizer workdir; default runs/pose_tok).
"""

from experiments import base
from experiments import common


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, steps=12000, size="small",
                          groups=False, tokenizer="runs/pose_tok")
  cfg = base.get_config()
  cfg.model.mode = "mlsf"
  cfg.model.variant = "cpu-2m"
  cfg.model.shared_multilingual = not args["groups"]
  cfg.model.pose_decoder = "tokens"
  cfg.model.tokenizer_workdir = args["tokenizer"]
  cfg.data.config = args["size"]
  # A shared model reads the language from its embedding: mixed batches.
  cfg.data.language_homogeneous = args["groups"]
  cfg.data.batch_size = 16  # 4x fewer decoder positions than frames
  # steps=12,000: this recipe ran 6-7 steps/s on 2 AMD EPYC cores in one
  # session (SIGTERM at 11,454) and 11-12 in another (done in 22 minutes), so
  # the cosine schedule ends inside the 30 minutes on either.
  common.apply_cpu_run(cfg, args["steps"])
  if args["smoke"]:
    common.apply_smoke(cfg)
    cfg.model.tokenizer_channels = 16
  return cfg


def sweep(add, arg=None):
  del arg
  for groups in (False, True):
    add(**{"model.shared_multilingual": not groups,
           "data.language_homogeneous": groups})
