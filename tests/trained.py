"""Session-wide artefacts for the generate / evaluate / quickstart tests.

A tiny SynthSign build and smoke-trained workdirs cost tens of seconds each,
so they are made once per test session and shared: test modules wrap these
helpers in their own session fixtures (the module-level cache makes every
wrapper return the same folders).
"""

import pathlib
import shutil

from signllm_jax import config as config_lib
from signllm_jax import train
from signllm_jax.data import datasets

SMOKE_STEPS = 6
_CACHE: dict[str, pathlib.Path] = {}


def tiny_data_dir(tmp_path_factory) -> pathlib.Path:
  """A TFDS data dir holding synth_sign/tiny."""
  if "data" not in _CACHE:
    root = tmp_path_factory.mktemp("tfds")
    datasets.build_dataset("synth_sign", "tiny", data_dir=root,
                           progress=False)
    _CACHE["data"] = root
  return _CACHE["data"]


def smoke_overrides(data_dir: pathlib.Path, steps: int = SMOKE_STEPS
                    ) -> list[str]:
  return [f"data.data_dir={data_dir}", f"train.steps={steps}",
          f"train.ckpt_every={steps}", "train.eval_every=0",
          "evaluate.render_samples=1"]


def trained_workdir(tmp_path_factory, spec: str) -> pathlib.Path:
  """A workdir trained for SMOKE_STEPS steps with config `spec` (smoke)."""
  if spec not in _CACHE:
    data_dir = tiny_data_dir(tmp_path_factory)
    cfg = config_lib.load_config(spec, smoke_overrides(data_dir))
    workdir = tmp_path_factory.mktemp("workdir")
    train.train_and_evaluate(cfg, workdir)
    _CACHE[spec] = workdir
  return _CACHE[spec]


def copy_workdir(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
  """A private copy (tests that write into a workdir must not share it)."""
  shutil.copytree(src, dst)
  return dst
