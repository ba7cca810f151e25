"""Experiment configs: `experiments/X.py:ARG` files and `--config.a.b=value` overrides.

A config file defines `get_config(arg: str | None) -> ml_collections.ConfigDict`
(big_vision style) and optionally `sweep(add)`. Every file starts from
`experiments/base.py`, so a printed config is always complete.
"""

import ast
import importlib.util
import json
import pathlib
import sys
from typing import Any, Sequence

import ml_collections

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


class ConfigError(ValueError):
  pass


def resolve_config_path(spec: str) -> tuple[pathlib.Path, str | None]:
  """'experiments/mlsf.py:smoke' -> (path, 'smoke'); also finds bundled files."""
  path_str, _, arg = spec.partition(":")
  path = pathlib.Path(path_str)
  candidates = [path, REPO_ROOT / path, REPO_ROOT / "experiments" / path.name]
  if not path.suffix:
    candidates += [REPO_ROOT / "experiments" / f"{path.name}.py"]
  for cand in candidates:
    if cand.is_file():
      return cand.resolve(), (arg or None)
  raise ConfigError(
      f"config file {path_str!r} not found (looked in: "
      f"{', '.join(str(c) for c in candidates)})")


def load_module(path: pathlib.Path):
  name = f"signllm_experiment_{path.stem}"
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  # Experiment files import each other (`from experiments import base`).
  if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
  spec.loader.exec_module(module)
  return module


def load_config(spec: str, overrides: Sequence[str] = ()) -> ml_collections.ConfigDict:
  """Loads `path[:arg]`, applies `a.b=value` overrides, locks the result."""
  path, arg = resolve_config_path(spec)
  module = load_module(path)
  if not hasattr(module, "get_config"):
    raise ConfigError(f"{path} has no get_config(arg)")
  cfg = module.get_config(arg)
  cfg = apply_overrides(cfg, overrides)
  with cfg.unlocked():
    cfg.config_spec = spec
  cfg.lock()
  return cfg


def parse_value(text: str, current: Any) -> Any:
  """Parses an override string to the type of the field it replaces."""
  if isinstance(current, bool):
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
      return True
    if low in ("0", "false", "no", "off"):
      return False
    raise ConfigError(f"expected a boolean, got {text!r}")
  if isinstance(current, str):
    return text
  if isinstance(current, int) and not isinstance(current, bool):
    try:
      return int(text)
    except ValueError:
      try:
        value = float(text)
      except ValueError:
        raise ConfigError(f"expected an integer, got {text!r}") from None
      if value != int(value):
        raise ConfigError(f"expected an integer, got {text!r}") from None
      return int(value)
  if isinstance(current, float):
    try:
      return float(text)
    except ValueError:
      raise ConfigError(f"expected a number, got {text!r}") from None
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError):
    value = text  # a string where the current value is None
  if isinstance(current, (tuple, list)):
    if not isinstance(value, (tuple, list)):
      raise ConfigError(f"expected a sequence such as (64, 128), got {text!r}")
    value = type(current)(value)
  return value


def apply_overrides(cfg: ml_collections.ConfigDict,
                    overrides: Sequence[str]) -> ml_collections.ConfigDict:
  cfg = ml_collections.ConfigDict(cfg)  # a copy; never mutate the module's
  for item in overrides:
    key, sep, text = item.partition("=")
    key = key.strip().removeprefix("--").removeprefix("config.")
    if not sep or not key:
      raise ConfigError(f"override {item!r} is not of the form a.b=value")
    *parents, leaf = key.split(".")
    node = cfg
    for i, part in enumerate(parents):
      if part not in node:
        raise ConfigError(f"unknown config field {'.'.join(parents[:i+1])!r}"
                          f" in override {item!r}")
      node = node[part]
    if leaf not in node:
      raise ConfigError(
          f"unknown config field {key!r}; fields here: {sorted(node.keys())}")
    current = node[leaf]
    try:
      with cfg.unlocked():
        node[leaf] = parse_value(text, current)
    except (ConfigError, ValueError, TypeError) as e:
      raise ConfigError(f"override {item!r}: {e}") from None
  return cfg


def to_json(cfg: ml_collections.ConfigDict) -> str:
  return json.dumps(cfg.to_dict(), indent=2, sort_keys=True, default=str)


def from_json(text: str) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(json.loads(text))


def get_sweep(spec: str) -> list[dict[str, Any]]:
  """Expands the file's `sweep(add)` into a list of override dicts."""
  path, arg = resolve_config_path(spec)
  module = load_module(path)
  if not hasattr(module, "sweep"):
    raise ConfigError(f"{path} defines no sweep(add)")
  points: list[dict[str, Any]] = []
  def add(**kw):
    points.append(dict(kw))
  try:
    module.sweep(add, arg)
  except TypeError:
    module.sweep(add)
  return points
