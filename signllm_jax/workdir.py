"""A training workdir: self-contained, and loaded for inference.

Layout (written by `signllm train`):

  W/config.json          the complete config of the run
  W/assets/              copied at train start, so W alone can generate:
    tokenizer.model      the SentencePiece model of the dataset
    pose_stats.json      the normalisation statistics (normalize.PoseStats)
    dataset.json         dataset name/config/folder, its metadata.json
                         (conventions, sources) and the skeleton layout
  W/checkpoints/<step>/  params, opt_state, data, replay, meta (checkpoint.py)

`load_workdir` restores the parameters alone (no optimizer is built or
read) and never falls back to a fresh model: a workdir that cannot be
restored is one `WorkdirError` naming what is missing or mismatched.
Workdirs trained before assets/ existed still load from the dataset the
config names, with a warning.
"""

import dataclasses
import json
import logging
import pathlib
import shutil
from typing import Any, Sequence

import jax
from flax import nnx

from signllm_jax import checkpoint
from signllm_jax import config as config_lib
from signllm_jax import languages
from signllm_jax import sharding
from signllm_jax import skeleton
from signllm_jax import state as state_lib
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import tokenizer as tokenizer_lib

log = logging.getLogger(__name__)

ASSETS = "assets"
TOKENIZER = "tokenizer.model"
STATS = "pose_stats.json"
DATASET = "dataset.json"


class WorkdirError(ValueError):
  """A workdir that cannot be loaded, stated for the user."""


def _skeleton_info() -> dict:
  return {"joints": skeleton.NUM_JOINTS, "coords": skeleton.NUM_COORDS,
          "frame_dim": skeleton.FRAME_DIM, "body": skeleton.NUM_BODY,
          "hand": skeleton.NUM_HAND,
          "layout": "BODY_25 0-7, left hand 21, right hand 21; frame = "
                    "x0 y0 z0 ... x49 y49 z49, counter (docs/CONVENTIONS.md)"}


def write_assets(workdir: pathlib.Path, cfg, dataset_path: pathlib.Path,
                 tokenizer: tokenizer_lib.Tokenizer,
                 stats: normalize.PoseStats) -> pathlib.Path:
  """Copies the tokenizer, statistics and dataset metadata into W/assets."""
  out = pathlib.Path(workdir) / ASSETS
  out.mkdir(parents=True, exist_ok=True)
  tokenizer.save(out / TOKENIZER)
  stats_d = stats.to_dict()
  if cfg.data.get("pose_stats", "global") == "per_lang":
    # The model was trained on per-language normalisation: generation must
    # de-normalise each language with its own statistics.
    stats_d["by_lang"] = {
        c: datasets.load_stats(path=dataset_path, lang=c).to_dict()
        for c in languages.parse_langs(cfg.data.langs)}
  (out / STATS).write_text(json.dumps(stats_d), encoding="utf-8")
  meta_file = pathlib.Path(dataset_path) / "metadata.json"
  info = {
      "name": cfg.data.name, "config": cfg.data.config,
      "path": str(dataset_path),
      "metadata": (json.loads(meta_file.read_text(encoding="utf-8"))
                   if meta_file.exists() else {}),
      "skeleton": _skeleton_info(),
  }
  (out / DATASET).write_text(json.dumps(info, indent=2, default=str),
                             encoding="utf-8")
  return out


def load_stats_by_lang(workdir: pathlib.Path
                       ) -> dict[str, normalize.PoseStats] | None:
  """Per-language statistics of a workdir trained with
  data.pose_stats="per_lang" ({code: stats}); None for global ones."""
  f = pathlib.Path(workdir) / ASSETS / STATS
  if not f.is_file():
    return None
  by_lang = json.loads(f.read_text(encoding="utf-8")).get("by_lang")
  if not by_lang:
    return None
  return {c: normalize.PoseStats.from_dict(d) for c, d in by_lang.items()}


def load_assets(workdir: pathlib.Path, cfg
                ) -> tuple[tokenizer_lib.Tokenizer, normalize.PoseStats]:
  """The workdir's tokenizer and statistics (older workdirs: the dataset's)."""
  assets = pathlib.Path(workdir) / ASSETS
  if (assets / TOKENIZER).is_file() and (assets / STATS).is_file():
    d = json.loads((assets / STATS).read_text(encoding="utf-8"))
    d.pop("by_lang", None)
    stats = normalize.PoseStats.from_dict(d)
    return tokenizer_lib.Tokenizer.load(assets / TOKENIZER), stats
  log.warning("%s has no %s/ (trained before workdirs held their "
              "tokenizer and statistics): reading them from the dataset "
              "%s/%s", workdir, ASSETS, cfg.data.name, cfg.data.config)
  try:
    path = datasets.dataset_dir(cfg.data.name, cfg.data.config,
                                cfg.data.data_dir or None)
    return (datasets.load_tokenizer(path=path), datasets.load_stats(path=path))
  except FileNotFoundError as e:
    raise WorkdirError(
        f"{workdir}: no {ASSETS}/ and the dataset is not found either ({e}); "
        "pass --config.data.data_dir=DIR if it moved") from None


def record_source(workdir: pathlib.Path, name: str, source, **fields
                  ) -> pathlib.Path:
  """W/assets/{name}: where weights adopted from another workdir came from
  (`source`, a LoadedWorkdir: its path and step), plus `fields`."""
  path = pathlib.Path(workdir) / ASSETS / name
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps({
      "workdir": str(pathlib.Path(source.workdir).resolve()),
      "step": int(source.step), **fields}, indent=2) + "\n")
  return path


def copy_assets(src: pathlib.Path, dst: pathlib.Path) -> None:
  """Copies W/assets (e.g. into a derived workdir)."""
  shutil.copytree(pathlib.Path(src) / ASSETS, pathlib.Path(dst) / ASSETS,
                  dirs_exist_ok=True)


@dataclasses.dataclass
class LoadedWorkdir:
  """A trained model with everything needed to run and de-normalise it."""
  workdir: pathlib.Path
  cfg: Any
  mesh: jax.sharding.Mesh
  model: nnx.Module
  tokenizer: Any
  stats: normalize.PoseStats
  step: int
  langs: tuple[str, ...]  # the languages the model was trained on
  # data.pose_stats="per_lang": each language's statistics; else None.
  stats_by_lang: dict[str, normalize.PoseStats] | None = None

  def stats_for(self, lang: str | None) -> normalize.PoseStats:
    """The statistics that de-normalise `lang`'s produced frames."""
    if self.stats_by_lang is None or lang is None:
      return self.stats
    try:
      return self.stats_by_lang[lang]
    except KeyError:
      raise WorkdirError(
          f"{self.workdir}: no pose statistics for {lang!r}; the model "
          f"knows {', '.join(self.stats_by_lang)}") from None

  @property
  def mode(self) -> str:
    return self.cfg.model.mode

  @property
  def name(self) -> str:
    m = self.cfg.model
    kind = ("P2LG" if m.mode == "p2lg" else
            "BT" if m.mode == "backtranslate" else
            "pose-tokenizer" if m.mode == "pose_tokenizer" else
            "MLSF-shared" if m.shared_multilingual else "MLSF")
    return f"SignLLM-{kind} ({m.variant}, step {self.step})"


# Blocks read only when a trained model runs: a workdir trained before one
# of their fields existed gets today's default for it (and can override
# it); what the model was trained with is not touched.
_INFERENCE_BLOCKS = ("generate", "evaluate")


def _with_new_inference_defaults(cfg):
  from experiments import base  # pylint: disable=g-import-not-at-top
  defaults = base.get_config()
  for block in _INFERENCE_BLOCKS:
    if block not in cfg or block not in defaults:
      continue
    for field, value in defaults[block].items():
      if field not in cfg[block]:
        cfg[block][field] = value
  return cfg


def read_config(workdir: pathlib.Path, overrides: Sequence[str] = ()):
  """W/config.json with `a.b=value` overrides applied."""
  path = pathlib.Path(workdir) / "config.json"
  if not path.is_file():
    raise WorkdirError(
        f"{workdir}: no config.json, so not a training workdir (train one "
        f"with `signllm train --config ... --workdir {workdir}`)")
  try:
    cfg = _with_new_inference_defaults(
        config_lib.from_json(path.read_text(encoding="utf-8")))
    return config_lib.apply_overrides(cfg, overrides)
  except json.JSONDecodeError as e:
    raise WorkdirError(f"{path}: not valid JSON ({e})") from None
  except ValueError as e:  # ConfigError included
    raise WorkdirError(f"{path}: {e}") from None


def load_workdir(workdir: str | pathlib.Path, overrides: Sequence[str] = (),
                 ) -> LoadedWorkdir:
  """The newest checkpoint's parameters of a training workdir.

  Args:
    workdir: a folder written by `signllm train`.
    overrides: `a.b=value` config overrides (generate.* settings, or
      data.data_dir for a workdir without assets/).

  Raises:
    WorkdirError: no such workdir, no config.json, no checkpoint, a
      checkpoint that does not fit the config, or no tokenizer/statistics.
  """
  workdir = pathlib.Path(workdir)
  if not workdir.is_dir():
    raise WorkdirError(f"{workdir}: no such workdir")
  cfg = read_config(workdir, overrides)
  ckpt_dir = workdir / "checkpoints"
  if not ckpt_dir.is_dir() or not any(
      p.name.isdigit() for p in ckpt_dir.iterdir()):
    raise WorkdirError(
        f"{workdir}: no checkpoint in {ckpt_dir} (has training saved one? "
        "checkpoints are written every train.ckpt_every steps and at the "
        "end)")
  tokenizer, stats = load_assets(workdir, cfg)
  mesh = sharding.make_mesh(cfg.mesh)
  graphdef, abstract = state_lib.model_def(cfg.model,
                                           vocab_size=tokenizer.vocab_size,
                                           seed=cfg.seed)
  shardings = sharding.state_shardings(abstract, mesh,
                                       sharding.logical_rules(cfg.mesh))
  target = state_lib.with_shardings(abstract, shardings)
  try:
    step, params = checkpoint.restore_params(ckpt_dir, target)
  except checkpoint.NoCheckpointError as e:
    raise WorkdirError(f"{workdir}: {e}") from None
  return LoadedWorkdir(workdir=workdir, cfg=cfg, mesh=mesh,
                       model=nnx.merge(graphdef, params),
                       tokenizer=tokenizer, stats=stats, step=step,
                       langs=languages.parse_langs(cfg.data.langs),
                       stats_by_lang=load_stats_by_lang(workdir))
