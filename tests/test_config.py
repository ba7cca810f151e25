"""`--config.a.b=value` overrides: types, None fields, unknown fields, CLI."""

import pytest

from signllm_jax import cli
from signllm_jax import config as config_lib

SPEC = "experiments/mlsf.py:smoke"


def _load(*overrides):
  return config_lib.load_config(SPEC, list(overrides))


@pytest.mark.parametrize("text,want", [
    ("true", True), ("False", False), ("1", True), ("0", False),
    ("yes", True), ("off", False)])
def test_bool_field(text, want):
  cfg = _load(f"train.progress={text}")
  assert cfg.train.progress is want


def test_int_float_str_fields_keep_their_types():
  cfg = _load("train.steps=12", "seed=1e3", "optim.lr=1",
              "optim.b1=0.95", "data.langs=ASL,GSL", "model.variant=pt-base")
  assert cfg.train.steps == 12 and type(cfg.train.steps) is int
  assert cfg.seed == 1000 and type(cfg.seed) is int
  assert cfg.optim.lr == 1.0 and type(cfg.optim.lr) is float
  assert cfg.optim.b1 == 0.95
  assert cfg.data.langs == "ASL,GSL" and cfg.model.variant == "pt-base"


def test_tuple_field_from_tuple_or_list_syntax():
  assert _load("data.frame_buckets=(32,64)").data.frame_buckets == (32, 64)
  assert _load("data.frame_buckets=[16, 64]").data.frame_buckets == (16, 64)


def test_none_fields_take_typed_values_and_none():
  # Placeholders (None until set): the variant's sizes, rl.is_beta, data_dir.
  cfg = _load("model.d_model=64", "rl.is_beta=0.5", "data.data_dir=/tmp/x")
  assert cfg.model.d_model == 64 and type(cfg.model.d_model) is int
  assert cfg.rl.is_beta == 0.5 and cfg.data.data_dir == "/tmp/x"
  assert _load("rl.is_beta=None").rl.is_beta is None


def test_leading_dashes_and_config_prefix_are_accepted():
  assert _load("--config.train.steps=5").train.steps == 5


@pytest.mark.parametrize("override,match", [
    ("train.stepz=3", r"unknown config field 'train.stepz'.*'steps'"),
    ("trian.steps=3", r"unknown config field 'trian'"),
    ("train.steps", r"not of the form a.b=value"),
    ("train.progress=maybe", r"expected a boolean"),
    ("train.steps=1.5", r"expected an integer"),
])
def test_bad_overrides_raise_clear_config_errors(override, match):
  with pytest.raises(config_lib.ConfigError, match=match):
    _load(override)


@pytest.mark.parametrize("override", [
    "train.steps=abc", "optim.lr=abc", "data.frame_buckets=64",
    "model.d_model=abc", "data.batch_size=None"])
def test_wrongly_typed_values_are_rejected(override):
  with pytest.raises((ValueError, TypeError)):
    _load(override)


@pytest.mark.parametrize("override", [
    "train.steps=abc", "data.frame_buckets=64", "model.d_model=abc"])
def test_wrongly_typed_values_name_the_field(override):
  with pytest.raises(config_lib.ConfigError, match=override.split("=")[0]):
    _load(override)


def test_loaded_config_is_locked():
  cfg = _load()
  with pytest.raises(AttributeError):
    cfg.train.new_field = 1
  assert cfg.config_spec == SPEC


def test_json_roundtrip():
  cfg = _load("train.steps=7")
  back = config_lib.from_json(config_lib.to_json(cfg))
  assert back.train.steps == 7
  assert tuple(back.data.frame_buckets) == tuple(cfg.data.frame_buckets)


def test_cli_reports_an_unknown_field_without_a_traceback(tmp_path, capsys):
  rc = cli.main(["train", "--config", SPEC, "--workdir", str(tmp_path),
                 "--config.train.stepz", "3"])
  assert rc == 2
  err = capsys.readouterr().err
  assert "signllm train: error: unknown config field 'train.stepz'" in err
  assert "Traceback" not in err
  assert not (tmp_path / "config.json").exists()


def test_a_mistyped_boolean_arg_is_an_error():
  from experiments import common  # pylint: disable=g-import-not-at-top
  assert common.parse_arg("smoke=false", smoke=True)["smoke"] is False
  assert common.parse_arg("smoke=yes", smoke=False)["smoke"] is True
  with pytest.raises(ValueError, match="not a boolean"):
    common.parse_arg("smoke=ture", smoke=False)


def test_print_config_prints_the_complete_resolved_config(capsys):
  import json  # pylint: disable=g-import-not-at-top
  from signllm_jax import cli  # pylint: disable=g-import-not-at-top
  assert cli.main(["train", "--config", "experiments/mlsf.py:pt-base",
                   "--print_config", "--config.data.batch_size=16"]) == 0
  cfg = json.loads(capsys.readouterr().out)
  assert cfg["data"]["batch_size"] == 16
  # The variant's sizes are filled in, not left as None.
  assert cfg["model"]["d_model"] == 512 and cfg["model"]["d_ff"] == 2048
  assert {"data", "model", "optim", "train", "mesh", "rl", "generate",
          "evaluate", "evals"} <= set(cfg)
