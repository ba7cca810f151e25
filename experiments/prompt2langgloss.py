"""Prompt2LangGloss: prompt -> language-tagged gloss -> pose.

COMMAND:
  signllm train --config experiments/prompt2langgloss.py:base-40m --workdir runs/p2lg
Args: a variant name, `stage=joint|gloss|pose`, `size=tiny|small|large`.
"""

from experiments import base
from experiments import common


def get_config(arg=None):
  args = common.parse_arg(arg, variant="base-40m", smoke=False, stage="joint",
                          size="small")
  cfg = base.get_config()
  cfg.model.mode = "p2lg"
  cfg.model.p2lg_stage = args["stage"]
  cfg.data.config = args["size"]
  # One shared stage-2 model: batches may mix languages.
  cfg.data.language_homogeneous = False
  if args["variant"] == "smoke" or args["smoke"]:
    common.apply_smoke(cfg)
  else:
    cfg.model.variant = args["variant"]
  return cfg


def sweep(add, arg=None):
  del arg
  for weight in (0.5, 1.0, 2.0):
    add(**{"model.gloss_loss_weight": weight})
