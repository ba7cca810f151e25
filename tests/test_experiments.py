"""Every experiments/*.py with get_config builds, default and smoke.

Default configs name real model sizes (up to super-1b): they are checked
abstractly (nnx.eval_shape), never allocated.
"""

import inspect
import pathlib

import pytest
from flax import nnx

from signllm_jax import config as config_lib
from signllm_jax import optim
from signllm_jax import rl
from signllm_jax import sharding
from signllm_jax.data import pipeline
from signllm_jax.model import signllm
from signllm_jax.model import variants

EXPERIMENTS = sorted(
    p for p in (config_lib.REPO_ROOT / "experiments").glob("*.py")
    if "def get_config" in p.read_text())


def _takes_smoke(path: pathlib.Path) -> bool:
  module = config_lib.load_module(path)
  return "apply_smoke" in inspect.getsource(module.get_config)


def _check_complete(cfg):
  """What state.define reads, short of data files and arrays."""
  model_cfg = variants.resolve(cfg.model)
  rl.validate(cfg.rl)
  optim.make_optimizer(cfg.optim, cfg.train.steps)
  pipeline._buckets(cfg.data)  # pylint: disable=protected-access
  mesh = sharding.make_mesh(cfg.mesh)  # 8 simulated devices
  assert cfg.data.batch_size % (mesh.shape["data"] * mesh.shape["fsdp"]) == 0
  assert cfg.train.ckpt_every > 0 and cfg.train.log_every > 0
  vocab = variants.get_variant(model_cfg.variant).vocab_size
  with nnx.use_eager_sharding(False):
    model = nnx.eval_shape(lambda: signllm.build_model(
        cfg.model, vocab_size=vocab, num_langs=8, rngs=nnx.Rngs(0)))
  count = variants.count_params(model)
  assert count > 0
  return model_cfg, count


def test_there_are_experiments():
  names = {p.name for p in EXPERIMENTS}
  assert {"base.py", "mlsf.py", "prompt2langgloss.py"} <= names


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_default_config_builds_abstractly(path):
  cfg = config_lib.load_config(str(path))
  assert cfg.config_spec == str(path)
  model_cfg, count = _check_complete(cfg)
  per_group = signllm.param_count_per_group(model_cfg.variant,
                                            mode=model_cfg.mode)
  # Counter-only decoder input has a 1-row input projection instead of
  # 151 rows (a few per cent of a cpu-2m group fewer).
  assert count >= (0.95 if model_cfg.counter_only_input else 1.0) * per_group


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_smoke_config_is_tiny(path):
  if not _takes_smoke(path):
    pytest.skip(f"{path.name} takes no smoke arg")
  cfg = config_lib.load_config(f"{path}:smoke")
  model_cfg, count = _check_complete(cfg)
  assert model_cfg.variant == "smoke"
  assert cfg.data.config == "tiny"
  assert cfg.data.batch_size == 8 and cfg.data.max_frames == 64
  assert cfg.train.steps <= 10 and not cfg.train.async_checkpointing
  assert count < 2_000_000, count


def test_mlsf_variants_and_flags():
  cfg = config_lib.load_config("experiments/mlsf.py:pt-base,shared")
  assert cfg.model.variant == "pt-base" and cfg.model.shared_multilingual
  big = config_lib.load_config("experiments/mlsf.py:super-1b")
  assert (big.mesh.fsdp, big.mesh.data) == (-1, 1)
  assert big.model.compute_dtype == "bfloat16"
  p2lg = config_lib.load_config("experiments/prompt2langgloss.py:smoke,"
                                "stage=gloss")
  assert p2lg.model.mode == "p2lg" and p2lg.model.p2lg_stage == "gloss"
  assert not p2lg.data.language_homogeneous
  with pytest.raises(ValueError, match="unknown key 'stge'"):
    config_lib.load_config("experiments/prompt2langgloss.py:stge=gloss")
  with pytest.raises(ValueError, match="unknown model variant"):
    _check_complete(config_lib.load_config("experiments/mlsf.py:huge"))


def test_config_files_resolve_by_short_name():
  path, arg = config_lib.resolve_config_path("mlsf:smoke")
  assert path.name == "mlsf.py" and arg == "smoke"
  with pytest.raises(config_lib.ConfigError, match="not found"):
    config_lib.resolve_config_path("experiments/nope.py")

