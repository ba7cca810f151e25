"""Evaluators built from the config (big_vision style).

`cfg.evals` names each evaluator to run and its options (the defaults are
in experiments/base.py), e.g. `--config.evals.render.enabled=False`,
  `--config.evals.backtranslation.samples=5`.

An entry's key is its name; its `type` (default: the key) picks the family
in REGISTRY, the other fields are the family's options. Evaluators run in
REGISTRY order of their type (a ConfigDict sorts its keys, so the config
cannot give an order), which is also the order of their sentences in the
report's note. An evaluator not named is not run; `enabled=False` turns a
named one off (handy on the command line). Each evaluator is a callable
`Context -> Result` (context.py); one that does not apply (no lexicon, no
back-translator, not a Prompt2LangGloss model) returns a skip with its
reason, never an error.
"""

import copy
import inspect
from typing import Any, Callable, Mapping

import ml_collections

from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import pose_evals
from signllm_jax.evaluate import synth_evals
from signllm_jax.evaluate import text_evals

Evaluator = Callable[[context_lib.Context], context_lib.Result]

REGISTRY: dict[str, Callable[..., Evaluator]] = {
    "pose_distance": pose_evals.PoseDistance,
    "hand_motion": pose_evals.HandMotion,
    "backtranslation": text_evals.BackTranslation,
    "gloss_accuracy": synth_evals.GlossAccuracy,
    "langgloss": text_evals.LangGlossExact,
    "render": pose_evals.Render,
}


def default_evals_config() -> ml_collections.ConfigDict:
  """The `evals` block of experiments/base.py (the one place defaults live),
  for configs written before it existed (older workdirs' config.json)."""
  from experiments import base  # pylint: disable=g-import-not-at-top
  return base.get_config().evals


def evals_config(cfg) -> ml_collections.ConfigDict:
  """cfg.evals, or the defaults for a config without it (older workdirs)."""
  return cfg.get("evals") or default_evals_config()


def _options(entry, name: str) -> dict[str, Any]:
  if entry is None:
    return {}
  if isinstance(entry, ml_collections.ConfigDict):
    return entry.to_dict()
  if isinstance(entry, Mapping):
    return dict(entry)
  raise ValueError(f"evals.{name}: expected a dict of options, got "
                   f"{type(entry).__name__}")


def build(evals, *, inject: Mapping[str, Mapping[str, Any]] | None = None
          ) -> dict[str, Evaluator]:
  """{name: evaluator} of the enabled entries of `evals`, in run order.

  Args:
    evals: cfg.evals (a ConfigDict or dict of {name: options}).
    inject: extra constructor arguments per evaluator name (objects that
      do not belong in a config, e.g. {"backtranslation": {"translator":
      t}}); ignored for names not built.

  Raises:
    ValueError: an unknown type or option, named with what is known.
  """
  inject = inject or {}
  entries = []
  for name, entry in _options(evals, "evals").items():
    options = copy.deepcopy(_options(entry, name))
    kind = options.pop("type", name)
    if kind not in REGISTRY:
      raise ValueError(f"evals.{name}: unknown evaluator type {kind!r}; "
                       f"known: {', '.join(REGISTRY)}")
    if options.pop("enabled", True):
      entries.append((list(REGISTRY).index(kind), name, kind, options))
  out = {}
  for _, name, kind, options in sorted(entries):
    factory = REGISTRY[kind]
    known = [p for p in inspect.signature(factory).parameters]
    unknown = sorted(set(options) - set(known))
    if unknown:
      raise ValueError(f"evals.{name}: unknown option(s) {unknown} for "
                       f"{kind!r}; known: {known or 'none'}")
    out[name] = factory(**options, **inject.get(name, {}))
  return out
