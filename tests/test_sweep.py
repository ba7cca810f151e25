"""Sweeps: expansion, launch lines, summaries and the local runner (no JAX)."""

import io
import json
import pathlib
import sys
import textwrap

import pytest

from signllm_jax import cli
from signllm_jax import config as config_lib
from signllm_jax import sweep

EXPERIMENT = """
from experiments import base


def get_config(arg=None):
  cfg = base.get_config(arg)
  cfg.train.steps = 4
  return cfg


def sweep(add, arg=None):
  del arg
  for shared in (False, True):
    for eta in (0.5, 0.25):
      add(**{"model.shared_multilingual": shared, "rl.eta": eta})
"""

# Stands in for `signllm train`: logs its call, fails for one sweep point,
# otherwise writes metrics.jsonl the way MetricsWriter does.
FAKE_TRAIN = """
import json, pathlib, sys
args = sys.argv[1:]
assert args[0] == "train", args
spec = args[args.index("--config") + 1]
workdir = pathlib.Path(args[args.index("--workdir") + 1])
over = dict(a[len("--config."):].split("=", 1) for a in args
            if a.startswith("--config."))
assert (workdir / "overrides.json").is_file()
with open(workdir / "calls.txt", "a") as f:
  f.write(" ".join(args) + "\\n")
print("fake training", workdir.name)
if over["model.shared_multilingual"] == "True" and over["rl.eta"] == "0.25":
  print("boom: simulated crash", file=sys.stderr)
  sys.exit(3)
steps = int(over.get("train.steps", 4))
eta = float(over["rl.eta"])
with open(workdir / "metrics.jsonl", "a") as f:
  f.write(json.dumps({"step": steps, "time": 1.0, "train/loss": eta}) + "\\n")
  f.write(json.dumps({"step": steps, "time": 2.0, "dev/loss": 2 * eta,
                      "dev/mse": 3 * eta}) + "\\n")
"""


def _write_experiment(tmp_path, name, body):
  path = tmp_path / f"{name}.py"
  path.write_text(textwrap.dedent(body))
  return str(path)


@pytest.fixture
def spec(tmp_path):
  return _write_experiment(tmp_path, "sweeptest_exp", EXPERIMENT)


@pytest.fixture
def fake_train(tmp_path):
  path = tmp_path / "fake_train.py"
  path.write_text(FAKE_TRAIN)
  return (sys.executable, str(path))


def _calls(run):
  path = pathlib.Path(run.workdir) / "calls.txt"
  return len(path.read_text().splitlines()) if path.exists() else 0


def test_expand_names_workdirs_and_loaded_configs(spec, tmp_path):
  runs = sweep.expand(spec, ["train.steps=9"], workdir=tmp_path / "w")
  assert len(runs) == 4
  assert len({r.name for r in runs}) == 4
  assert len({r.workdir for r in runs}) == 4
  assert runs[1].name == "01_model.shared_multilingual=False,rl.eta=0.25"
  assert runs[1].workdir == f"{tmp_path}/w/sweeptest_exp/{runs[1].name}"
  assert runs[1].overrides == ("model.shared_multilingual=False",
                               "rl.eta=0.25", "train.steps=9")
  for run in runs:
    assert run.train_steps == 9
    cfg = config_lib.load_config(spec, run.overrides)
    assert cfg.model.shared_multilingual == run.point[
        "model.shared_multilingual"]
    assert cfg.rl.eta == run.point["rl.eta"]
  assert [r.point["model.shared_multilingual"] for r in runs] == [
      False, False, True, True]
  assert runs[3].command == (
      "signllm", "train", "--config", spec, "--workdir", runs[3].workdir,
      "--config.model.shared_multilingual=True", "--config.rl.eta=0.25",
      "--config.train.steps=9")
  # Stable: expanding again gives the same runs.
  assert sweep.expand(spec, ["train.steps=9"], workdir=tmp_path / "w") == runs


def test_names_are_sanitised_and_bounded():
  name = sweep.run_name(3, {"data.langs": "ASL GSL/x", "a.b": "y" * 300}, 12)
  assert name.startswith("03_data.langs=ASL_GSL_x,a.b=yyy")
  assert "/" not in name and " " not in name
  assert len(name) <= 130
  assert sweep.sweep_name("experiments/mlsf.py:smoke") == "mlsf_smoke"


def test_unknown_field_in_sweep_point_is_a_clear_error(tmp_path):
  bad = _write_experiment(tmp_path, "sweeptest_bad", """
      from experiments import base
      get_config = base.get_config
      def sweep(add, arg=None):
        add(**{"rl.eta": 0.5})
        add(**{"model.no_such_field": 1})
      """)
  with pytest.raises(sweep.SweepError,
                     match=r"sweep point 1 .*'model.no_such_field'"):
    sweep.expand(bad)
  err = io.StringIO()
  assert sweep.run_sweep(bad, workdir=tmp_path, dry_run=True, out=err) == 2


def test_badly_typed_value_and_clashing_override_are_errors(spec, tmp_path):
  bad = _write_experiment(tmp_path, "sweeptest_type", """
      from experiments import base
      get_config = base.get_config
      def sweep(add, arg=None):
        add(**{"train.steps": "many"})
      """)
  with pytest.raises(sweep.SweepError, match=r"sweep point 0 .*'many'"):
    sweep.expand(bad)
  with pytest.raises(sweep.SweepError, match="rl.eta"):
    sweep.expand(spec, ["rl.eta=2.0"])
  with pytest.raises(sweep.SweepError, match=r"bad override: .*'model.nope'"):
    sweep.expand(spec, ["model.nope=1"])


def test_dry_run_lists_all_runs_via_cli(spec, tmp_path, capsys):
  code = cli.main(["sweep", spec, "--dry_run", "--workdir", str(tmp_path),
                   "--config.train.steps=7"])
  out = capsys.readouterr().out
  assert code == 0
  assert "4 runs" in out
  for run in sweep.expand(spec, ["train.steps=7"], workdir=tmp_path):
    assert run.name in out and run.workdir in out
  assert "rl.eta=0.25 train.steps=7" in out
  assert not (tmp_path / "sweeptest_exp").exists()  # nothing ran


@pytest.mark.parametrize("emit,start", [
    ("local", "signllm train --config "),
    ("slurm", "sbatch launch/slurm_gpu.sbatch "),
    ("tpu", 'launch/tpu_pod.sh "$TPU_NAME" "$TPU_ZONE" "$TPU_TYPE" '),
])
def test_emit_one_command_per_run(spec, tmp_path, emit, start, monkeypatch):
  for var, _ in sweep.TPU_ARGS:
    monkeypatch.delenv(var, raising=False)
  out = io.StringIO()
  assert sweep.run_sweep(spec, workdir=tmp_path, emit=emit, out=out,
                         overrides=["train.steps=7"]) == 0
  lines = out.getvalue().splitlines()
  runs = sweep.expand(spec, ["train.steps=7"], workdir=tmp_path)
  assert len(lines) == 4
  for line, run in zip(lines, runs):
    assert line.startswith(start)
    assert run.workdir in line and spec in line
    for o in run.overrides:
      assert f"--config.{o}" in line
  if emit != "local":
    # Positional CONFIG WORKDIR, as the launch scripts expect.
    assert f"{spec} {runs[0].workdir} --config." in lines[0]
  assert not (tmp_path / "sweeptest_exp").exists()


def test_emit_tpu_takes_names_from_env(spec, tmp_path, monkeypatch):
  monkeypatch.setenv("SIGNLLM_TPU_NAME", "my-tpu")
  monkeypatch.setenv("SIGNLLM_TPU_ZONE", "us-central2-b")
  monkeypatch.setenv("SIGNLLM_TPU_TYPE", "v4-32")
  run = sweep.expand(spec, workdir="gs://bucket/sweeps")[0]
  line = sweep.emit_command(run, "tpu")
  assert line.startswith("launch/tpu_pod.sh my-tpu us-central2-b v4-32 ")
  assert f"gs://bucket/sweeps/sweeptest_exp/{run.name}" in line


def _write_metrics(run, records):
  workdir = pathlib.Path(run.workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  with open(workdir / "metrics.jsonl", "w") as f:
    for r in records:
      f.write(json.dumps(r) + "\n")


def test_summary_from_metrics_files(spec, tmp_path):
  runs = sweep.expand(spec, workdir=tmp_path)
  _write_metrics(runs[0], [
      {"step": 2, "time": 0.0, "train/loss": 9.0},
      {"step": 4, "time": 1.0, "train/loss": 0.125},
      {"step": 4, "time": 2.0, "dev/loss": 0.5, "dev/mse": 0.25}])
  _write_metrics(runs[1], [{"step": 2, "time": 0.0, "train/loss": 7.5}])
  table = sweep.write_summary(runs, tmp_path / "sweeptest_exp")
  lines = table.splitlines()
  assert [c.strip() for c in lines[0].split("|")[1:-1]] == [
      "#", "model.shared_multilingual", "rl.eta", "status", "step",
      "train/loss", "dev/loss", "dev/mse"]
  cells = [c.strip() for c in lines[2].split("|")[1:-1]]
  assert cells == ["0", "False", "0.5", "", "4/4", "0.125", "0.5", "0.25"]
  cells = [c.strip() for c in lines[3].split("|")[1:-1]]
  assert cells == ["1", "False", "0.25", "", "2/4", "7.5", "", ""]
  assert "no metrics" in lines[4]
  assert (tmp_path / "sweeptest_exp" / "summary.md").read_text() == table + "\n"
  rows = json.loads((tmp_path / "sweeptest_exp" / "summary.json").read_text())
  assert rows[0]["metrics"] == {"train/loss": 0.125, "dev/loss": 0.5,
                                "dev/mse": 0.25}
  assert rows[0]["point"] == {"model.shared_multilingual": False,
                              "rl.eta": 0.5}
  assert rows[2]["step"] is None


def test_bad_metrics_line_names_file_and_line(spec, tmp_path):
  run = sweep.expand(spec, workdir=tmp_path)[0]
  pathlib.Path(run.workdir).mkdir(parents=True)
  (pathlib.Path(run.workdir) / "metrics.jsonl").write_text(
      '{"step": 1}\n{"step": 2, "train/loss": \n')
  with pytest.raises(sweep.SweepError, match=r"metrics.jsonl:2: not a JSON"):
    sweep.final_metrics(run.workdir)


def test_runner_continues_after_failure_and_skips_finished(
    spec, tmp_path, fake_train):
  runs = sweep.expand(spec, workdir=tmp_path)
  # An unfinished run (2 of 4 steps) is started again, for train to resume.
  _write_metrics(runs[0], [{"step": 2, "time": 0.0, "train/loss": 1.0}])
  out = io.StringIO()
  code = sweep.run_sweep(spec, workdir=tmp_path, train_prefix=fake_train,
                         out=out)
  text = out.getvalue()
  assert code == 1
  assert [_calls(r) for r in runs] == [1, 1, 1, 1]
  for i in range(1, 5):
    assert f"run {i}/4" in text
  assert "FAILED (exit 3)" in text and "boom: simulated crash" in text
  assert f"1 of 4 runs failed: {runs[3].name}" in text
  record = json.loads(
      (pathlib.Path(runs[2].workdir) / "overrides.json").read_text())
  assert record["overrides"] == list(runs[2].overrides)
  assert record["point"] == runs[2].point
  summary = (tmp_path / "sweeptest_exp" / "summary.md").read_text()
  assert "failed (exit 3)" in summary
  rows = json.loads((tmp_path / "sweeptest_exp" / "summary.json").read_text())
  assert [r["status"] for r in rows] == ["done", "done", "done",
                                         "failed (exit 3)"]
  assert rows[1]["metrics"]["dev/mse"] == pytest.approx(0.75)

  # Again: the three finished runs are skipped, the failed one retried.
  out = io.StringIO()
  assert sweep.run_sweep(spec, workdir=tmp_path, train_prefix=fake_train,
                         out=out) == 1
  assert [_calls(r) for r in runs] == [1, 1, 1, 2]
  assert out.getvalue().count("skipped, already finished") == 3

  # More steps asked for: nothing is finished any more.
  out = io.StringIO()
  sweep.run_sweep(spec, workdir=tmp_path, train_prefix=fake_train, out=out,
                  overrides=["train.steps=6"])
  assert "skipped" not in out.getvalue()
