"""Shared helpers of the trainer tests: data, configs, runs, compile cache.

Every trainer test runs the smoke variant (batch 8, 64 frames) on the tiny
SynthSign build. Compiling the train step costs ~10 s on 2 CPU cores, so a
persistent compilation cache is shared by the in-process runs and the
`signllm train` subprocesses of one session (the cache key is the HLO, so a
new jit of the same step is a disk hit, not a compile).
"""

import atexit
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from typing import Any

from signllm_jax import config as config_lib
from signllm_jax import metrics_writer
from signllm_jax import sharding
from signllm_jax import state as state_lib
from signllm_jax import train
from tests.data import test_synth_sign_builder

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
MLSF_SMOKE = "experiments/mlsf.py:smoke"
_CACHE_ENV = "SIGNLLM_TEST_COMPILE_CACHE"


def data_dir() -> pathlib.Path:
  """The TFDS data dir holding synth_sign/tiny (built once per session)."""
  return test_synth_sign_builder.build_tiny().parents[2]


_cache_dir = None


def compile_cache_dir() -> pathlib.Path:
  """Turns on jax's persistent compilation cache for this process (once).

  A fresh directory per session, or $SIGNLLM_TEST_COMPILE_CACHE (kept: later
  sessions start warm). jax decides whether to use the cache at the first
  compile of the process, so that decision is reset here.
  """
  global _cache_dir
  if _cache_dir is not None:
    return _cache_dir
  path = os.environ.get(_CACHE_ENV)
  if not path:
    path = tempfile.mkdtemp(prefix="signllm_jax_cache_")
    atexit.register(shutil.rmtree, path, True)
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  try:
    # pylint: disable-next=g-import-not-at-top
    from jax._src import compilation_cache
    compilation_cache.reset_cache()
  except (ImportError, AttributeError):  # a slower session, not a failure
    pass
  _cache_dir = pathlib.Path(path)
  return _cache_dir


def smoke_config(*overrides: str, spec: str = MLSF_SMOKE):
  """The smoke config on the tiny data; `overrides` as on the command line."""
  compile_cache_dir()
  return config_lib.load_config(
      spec, [f"data.data_dir={data_dir()}", "train.eval_every=0",
             *overrides])


def losses_by_step(workdir) -> dict[int, float]:
  """train/loss per step from metrics.jsonl; a re-logged step keeps its last
  value (a resumed run logs again the steps after its checkpoint)."""
  out = {}
  for rec in metrics_writer.read_jsonl(pathlib.Path(workdir) / "metrics.jsonl"):
    if "train/loss" in rec:
      out[rec["step"]] = rec["train/loss"]
  return out


def checkpoint_steps(workdir) -> list[int]:
  """Committed checkpoint steps (orbax's tmp folders are not steps)."""
  ckpt = pathlib.Path(workdir) / "checkpoints"
  if not ckpt.is_dir():
    return []
  return sorted(int(p.name) for p in ckpt.iterdir()
                if p.name.isdigit() and (p / "_CHECKPOINT_METADATA").exists())


def cli_command(workdir, *overrides: str, spec: str = MLSF_SMOKE) -> list[str]:
  return [sys.executable, "-m", "signllm_jax.cli", "train", "--config", spec,
          "--workdir", str(workdir), f"--config.data.data_dir={data_dir()}",
          "--config.train.eval_every=0",
          *[f"--config.{o}" for o in overrides]]


def cli_env() -> dict[str, str]:
  """The test process's devices, platform and compilation cache."""
  env = dict(os.environ)
  env["JAX_COMPILATION_CACHE_DIR"] = str(compile_cache_dir())
  env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
  env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
  env["PYTHONPATH"] = os.pathsep.join(
      [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
  return env


def start_cli(workdir, *overrides: str, log_path=None) -> subprocess.Popen:
  """`signllm train` in a subprocess; stderr goes to `log_path`."""
  path = log_path or pathlib.Path(workdir).with_suffix(".log")
  with open(path, "wb") as log:  # the child keeps its own descriptor
    return subprocess.Popen(cli_command(workdir, *overrides), cwd=REPO_ROOT,
                            env=cli_env(), stdout=subprocess.PIPE,
                            stderr=log)


def final_json(stdout: bytes) -> dict:
  """The final metrics `signllm train` prints (the last JSON object)."""
  text = stdout.decode()
  return json.loads(text[text.rindex("{\n"):])


@dataclasses.dataclass
class Setup:
  """What the step/checkpoint tests hold: the StateDef of state.py, its
  (initialised or abstract) state and the dataset's tokenizer/stats."""
  cfg: Any
  sdef: state_lib.StateDef
  state: Any
  tokenizer: Any
  stats: Any

  @property
  def mesh(self):
    return self.sdef.mesh

  @property
  def graphdef(self):
    return self.sdef.graphdef

  @property
  def state_shardings(self):
    return self.sdef.shardings

  @property
  def num_langs(self) -> int:
    return self.sdef.num_langs


def build_setup(cfg, *, init_state: bool = True, mesh=None) -> Setup:
  """state.define (+ state.init) for cfg, as the trainer does."""
  _, tok, stats = train.load_data_assets(cfg)
  sdef = state_lib.define(cfg, vocab_size=tok.vocab_size,
                          mesh=mesh or sharding.make_mesh(cfg.mesh))
  return Setup(cfg=cfg, sdef=sdef,
               state=state_lib.init(sdef) if init_state else sdef.abstract,
               tokenizer=tok, stats=stats)


def train_step(setup: Setup, example_batch=None):
  """The trainer's jitted step (state.train_step) for setup's mesh."""
  rl_abs = (None if example_batch is None else
            state_lib.abstract_rl_state(setup.sdef, example_batch))
  return state_lib.train_step(setup.sdef, rl_abs)


def flat_state(state) -> dict[str, np.ndarray]:
  """keystr(path) -> host array (PRNG keys as their raw data): a state tree
  two runs' states compare on leaf by leaf."""
  out = {}
  for path, x in jax.tree_util.tree_flatten_with_path(state)[0]:
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
      x = jax.random.key_data(x)
    out[jax.tree_util.keystr(path)] = np.asarray(jax.device_get(x))
  return out
