"""MLSF: text -> pose, one encoder-decoder group per sign language.

COMMAND:
  signllm train --config experiments/mlsf.py:base-40m --workdir runs/mlsf
  signllm train --config experiments/mlsf.py:smoke --workdir /tmp/mlsf_smoke
Args: a variant name (smoke | cpu | pt-base | base-40m | large-120m | super-1b)
and/or `shared` (one shared model + language embedding instead of groups),
`size=tiny|small|large` for the SynthSign size.
"""

from experiments import base
from experiments import common


def get_config(arg=None):
  args = common.parse_arg(arg, variant="base-40m", smoke=False, shared=False,
                          size="small")
  cfg = base.get_config()
  cfg.model.mode = "mlsf"
  cfg.model.shared_multilingual = args["shared"]
  cfg.data.config = args["size"]
  cfg.data.language_homogeneous = True
  if args["variant"] == "smoke" or args["smoke"]:
    common.apply_smoke(cfg)
  else:
    cfg.model.variant = args["variant"]
  if args["variant"] == "super-1b":
    # 1B per group (8B for 8 groups): shard parameters and optimizer state
    # over every device (FSDP). The global batch must divide by the device
    # count: 64 serves slices of up to 64 chips. For tensor parallelism set
    # e.g. --config.mesh.fsdp=8 --config.mesh.tensor=2.
    cfg.mesh.fsdp = -1
    cfg.mesh.data = 1
    cfg.data.batch_size = 64
    cfg.model.compute_dtype = "bfloat16"
  return cfg


def sweep(add, arg=None):
  del arg
  for shared in (False, True):
    add(**{"model.shared_multilingual": shared})
