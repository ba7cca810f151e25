"""The main job on the embedded tiny SynthSign corpus (< 10 minutes, 2 cores).

COMMAND:
  signllm quickstart
"""

from experiments import base


def get_config(arg=None):
  del arg
  cfg = base.get_config()
  cfg.model.mode = "mlsf"
  cfg.model.variant = "smoke"
  cfg.data.config = "tiny"
  cfg.data.batch_size = 16
  cfg.data.max_frames = 128
  cfg.data.frame_buckets = (128,)
  cfg.train.steps = 300
  cfg.train.log_every = 25
  cfg.train.eval_every = 150
  cfg.train.ckpt_every = 150
  cfg.generate.max_frames = 128
  cfg.evaluate.split = "test"
  return cfg
