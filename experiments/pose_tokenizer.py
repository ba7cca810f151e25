"""The multi-stream FSQ pose tokenizer (model/pose_tokenizer.py) on any
dataset the pipeline serves: body, left hand and right hand each become one
token per `tokenizer_downsample` frames.

COMMAND:
  signllm data build synth_sign --config small
  timeout -s TERM 900 signllm train --config experiments/pose_tokenizer.py \
      --workdir runs/pose_tok      # at most 15 minutes on a 2-core CPU
  python experiments/pose_tokenizer_report.py --workdir runs/pose_tok
Args: `smoke`, `steps=N`, `size=tiny|small`, `downsample=N`, `channels=N`,
`levels=8-5-5-5`.
"""

from experiments import base
from experiments import common


def get_config(arg=None):
  args = common.parse_arg(arg, smoke=False, steps=8000, size="small",
                          downsample=4, channels=128, levels="8-5-5-5")
  cfg = base.get_config()
  cfg.model.mode = "pose_tokenizer"
  cfg.model.tokenizer_downsample = args["downsample"]
  cfg.model.tokenizer_channels = args["channels"]
  cfg.model.fsq_levels = tuple(int(l) for l in args["levels"].split("-"))
  cfg.data.config = args["size"]
  cfg.data.language_homogeneous = False  # one tokenizer for all languages
  cfg.data.batch_size = 16
  cfg.data.too_long = "truncate"
  # Measured on SynthSign small: at lr 2e-3 (b2 0.999, clip 5) a stream
  # spiked at step ~1,250 and collapsed to its mean pose (decoder ignoring
  # its codes, so the encoder gets no signal); a lower peak, a faster
  # second-moment estimate and clipping at ~3x the usual gradient norm
  # keep the streams alive.
  cfg.optim.lr = 1e-3
  cfg.optim.b2 = 0.99
  cfg.optim.clip_norm = 1.0
  common.apply_cpu_run(cfg, args["steps"], warmup_steps=200)
  if args["smoke"]:
    common.apply_smoke(cfg)
    cfg.model.tokenizer_channels = 16
  return cfg


def sweep(add, arg=None):
  del arg
  for downsample in (2, 4, 8):
    add(**{"model.tokenizer_downsample": downsample})
