"""Train, save and load the sign-to-text back-translation model.

`train_backtranslator_workdir(cfg, workdir)` trains
`evaluate.backtranslation.BackTranslator` on the ground-truth poses of the
dataset's train split (cfg.data; normalised frames exactly as the pose
model sees them, all languages mixed) for `cfg.backtranslation.steps` steps
and saves, in `workdir`: `config.json` (the full config), `params/` (orbax,
the model's parameters) and `meta.json` (final loss / token accuracy,
tokenizer settings). `load_backtranslator(workdir)` reads it back.

`get_or_train(cfg, cache_root)` is what evaluation uses: the model lives in
`cache_root/backtranslator/{name}-{config}-{hash}`, where the hash covers
every setting that changes the model (backtranslation block, dataset,
languages, lengths), so a cached model is reused only for the same setup.

Tokens: the pipeline's `text` rows already end with EOS, so `append_eos` is
off and `bos_id` / `eos_id` / `vocab_size` / `max_text_len` are taken from
the dataset's tokenizer and cfg.data (whatever the block says).
"""

import hashlib
import json
import logging
import pathlib
import shutil
import time
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from signllm_jax import config as config_lib
from signllm_jax import sharding
from signllm_jax.data import datasets
from signllm_jax.data import pipeline
from signllm_jax.evaluate import backtranslation as bt

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
META_FILE = "meta.json"
PARAMS_DIR = "params"
_TRAINING_ONLY = ("steps", "batch_size", "log_every")


def model_config(cfg, tokenizer) -> ml_collections.ConfigDict:
  """The BackTranslator config: the block, with the tokenizer's ids."""
  block = cfg.backtranslation
  out = bt.default_config()
  for k in out:
    if k in block:
      out[k] = block[k]
  out.update(vocab_size=int(tokenizer.vocab_size), bos_id=tokenizer.bos_id,
             eos_id=tokenizer.eos_id, append_eos=False,
             max_text_len=int(cfg.data.max_text_len),
             max_frames=max(int(block.max_frames), int(cfg.data.max_frames)))
  return out


def _data_config(cfg) -> ml_collections.ConfigDict:
  d = ml_collections.ConfigDict(cfg.data.to_dict())
  d.batch_size = int(cfg.backtranslation.batch_size)
  d.language_homogeneous = False
  d.too_long = "truncate"  # long clips still teach their start
  return d


def _host_batches(it):
  for batch in it:
    yield {k: np.asarray(jax.device_get(batch[k])) for k in bt.BATCH_KEYS}


def train_backtranslator_workdir(cfg, workdir: str | pathlib.Path, *,
                                 progress: bool = True) -> dict[str, Any]:
  """Trains on cfg.data's train split and saves into workdir; returns meta."""
  workdir = pathlib.Path(workdir)
  data_dir = cfg.data.data_dir or None
  tok = datasets.load_tokenizer(cfg.data.name, cfg.data.config,
                                data_dir=data_dir)
  model_cfg = model_config(cfg, tok)
  mesh = sharding.make_mesh(ml_collections.ConfigDict(
      {"data": -1, "fsdp": 1, "tensor": 1}))
  data_cfg = _data_config(cfg)
  it = pipeline.make_train_iterator(data_cfg, mesh=mesh, seed=cfg.seed)
  steps = int(cfg.backtranslation.steps)
  t0 = time.perf_counter()
  model, history = bt.train_backtranslator(_host_batches(it), model_cfg,
                                           steps=steps, progress=progress)
  last = history[-min(len(history), 10):]
  meta = {
      "steps": steps, "train_seconds": time.perf_counter() - t0,
      "final_loss": float(np.mean([h["loss"] for h in last])),
      "final_token_accuracy": float(np.mean([h["token_accuracy"]
                                             for h in last])),
      "dataset": f"{cfg.data.name}/{cfg.data.config}",
      "langs": cfg.data.langs, "model": model_cfg.to_dict(),
  }
  tmp = workdir.with_name(workdir.name + ".tmp")
  if tmp.exists():
    shutil.rmtree(tmp)
  tmp.mkdir(parents=True)
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save((tmp / PARAMS_DIR).absolute(),
               nnx.state(model, nnx.Param).to_pure_dict())
  (tmp / CONFIG_FILE).write_text(config_lib.to_json(cfg), encoding="utf-8")
  (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
  # Renamed into place only when complete: a killed run leaves no half model.
  if workdir.exists():
    shutil.rmtree(workdir)
  tmp.rename(workdir)
  log.info("back-translator trained in %.0f s (loss %.3f, token accuracy "
           "%.3f); saved in %s", meta["train_seconds"], meta["final_loss"],
           meta["final_token_accuracy"], workdir)
  return meta


def is_saved(workdir: str | pathlib.Path) -> bool:
  workdir = pathlib.Path(workdir)
  return all((workdir / f).exists() for f in (CONFIG_FILE, META_FILE,
                                              PARAMS_DIR))


def load_backtranslator(workdir: str | pathlib.Path
                        ) -> tuple[bt.BackTranslator, dict[str, Any]]:
  """(model, meta) from a folder written by train_backtranslator_workdir."""
  workdir = pathlib.Path(workdir)
  if not is_saved(workdir):
    raise FileNotFoundError(
        f"{workdir}: not a back-translator folder (needs {CONFIG_FILE}, "
        f"{META_FILE} and {PARAMS_DIR}/)")
  meta = json.loads((workdir / META_FILE).read_text(encoding="utf-8"))
  model_cfg = ml_collections.ConfigDict(meta["model"])
  model = bt.BackTranslator(model_cfg, rngs=nnx.Rngs(0))  # small: cheap
  params = nnx.state(model, nnx.Param)
  with ocp.StandardCheckpointer() as ckptr:
    restored = ckptr.restore((workdir / PARAMS_DIR).absolute(),
                             params.to_pure_dict())
  nnx.replace_by_pure_dict(params, restored)
  nnx.update(model, params)
  return model, meta


def cache_key(cfg) -> str:
  """Hash of everything that changes the trained back-translator."""
  d = cfg.data
  keyed = {"backtranslation": cfg.backtranslation.to_dict(),
           "data": {k: d[k] for k in ("name", "config", "langs", "max_text_len",
                                      "max_frames", "frame_buckets",
                                      "shuffle_seed")},
           "seed": cfg.seed}
  text = json.dumps(keyed, sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:10]


def cache_dir(cfg, cache_root: str | pathlib.Path) -> pathlib.Path:
  return (pathlib.Path(cache_root) / "backtranslator" /
          f"{cfg.data.name}-{cfg.data.config}-{cache_key(cfg)}")


def get_or_train(cfg, cache_root: str | pathlib.Path, *,
                 progress: bool = True
                 ) -> tuple[bt.BackTranslator, dict[str, Any], pathlib.Path]:
  """The cached back-translator for cfg, trained first if absent."""
  where = cache_dir(cfg, cache_root)
  if not is_saved(where):
    log.info("no cached back-translator in %s: training one (%d steps)",
             where, cfg.backtranslation.steps)
    train_backtranslator_workdir(cfg, where, progress=progress)
  model, meta = load_backtranslator(where)
  return model, meta, where
