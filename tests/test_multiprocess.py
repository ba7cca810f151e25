"""2 processes x 4 CPU devices (gloo) train one global 8-device mesh.

Each run is two `signllm train` processes on 127.0.0.1, as
launch/local_multiprocess.sh starts them: train 6 steps (checkpoints at 3 and
6, validation at 6), then run again to 8 steps, which must resume from step 6.
Both processes must report the same losses, and process 0's metrics.jsonl
must agree with them.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest

from signllm_jax import distributed
from signllm_jax.data import datasets

REPO = pathlib.Path(__file__).resolve().parents[1]
NUM_PROCESSES = 2
DEVICES_PER_PROCESS = 4
TIMEOUT_S = 300  # per invocation; only guards against a hang


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _last_json(stdout: str) -> dict:
  """The final-metrics JSON object `signllm train` prints last."""
  start = stdout.rfind("\n{")
  return json.loads(stdout[start + 1 if start >= 0 else 0:])


def _train(workdir, data_dir, *overrides) -> list[tuple[dict, str]]:
  """Runs both processes to completion; [(final metrics, stderr)] per id."""
  port = _free_port()
  procs = []
  for pid in range(NUM_PROCESSES):
    env = {**os.environ,
           "SIGNLLM_COORDINATOR": f"127.0.0.1:{port}",
           "SIGNLLM_NUM_PROCESSES": str(NUM_PROCESSES),
           "SIGNLLM_PROCESS_ID": str(pid),
           "SIGNLLM_CPU_COLLECTIVES": "gloo",
           "XLA_FLAGS": "--xla_force_host_platform_device_count="
                        f"{DEVICES_PER_PROCESS}",
           "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, "-m", "signllm_jax.cli", "train",
           "--config", "experiments/mlsf.py:smoke,shared",
           "--workdir", str(workdir),
           f"--config.data.data_dir={data_dir}", *overrides]
    procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, text=True,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE))
  outs = []
  try:
    for p in procs:
      outs.append(p.communicate(timeout=TIMEOUT_S))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.communicate()
  for pid, (p, (out, err)) in enumerate(zip(procs, outs)):
    assert p.returncode == 0, (f"process {pid} exited {p.returncode}\n"
                               f"{err[-4000:]}")
  return [(_last_json(out), err) for out, err in outs]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("tfds")
  datasets.build_dataset("synth_sign", "tiny", data_dir=str(path),
                         progress=False)
  return path


@pytest.mark.multiprocess
def test_two_processes_train_checkpoint_and_resume(tmp_path, data_dir):
  workdir = tmp_path / "run"
  first = _train(workdir, data_dir)
  for final, err in first:
    assert final["step"] == 6, err[-2000:]
    assert "resumed" not in err
  # Both processes computed the same global step on the same global batch.
  assert first[0][0]["loss"] == first[1][0]["loss"]
  assert first[0][0]["dev/loss"] == first[1][0]["dev/loss"]
  ckpts = workdir / "checkpoints"
  assert sorted(int(p.name) for p in ckpts.iterdir()
                if p.name.isdigit()) == [3, 6]

  second = _train(workdir, data_dir, "--config.train.steps=8")
  for final, err in second:
    assert "resumed from step 6" in err, err[-2000:]
    assert final["step"] == 8
  assert second[0][0]["loss"] == second[1][0]["loss"]
  assert 8 in [int(p.name) for p in ckpts.iterdir() if p.name.isdigit()]

  # Only process 0 writes metrics; its records match what both printed.
  records = [json.loads(line) for line in
             (workdir / "metrics.jsonl").read_text().splitlines()]
  by_step = {}
  for r in records:
    by_step.setdefault(r["step"], {}).update(r)
  assert by_step[6]["train/loss"] == pytest.approx(first[0][0]["loss"])
  assert by_step[8]["train/loss"] == pytest.approx(second[0][0]["loss"])


def test_env_config_reads_the_launch_variables(monkeypatch):
  monkeypatch.delenv("SIGNLLM_COORDINATOR", raising=False)
  assert distributed.env_config() is None
  monkeypatch.setenv("SIGNLLM_COORDINATOR", "127.0.0.1:1234")
  monkeypatch.setenv("SIGNLLM_NUM_PROCESSES", "2")
  monkeypatch.setenv("SIGNLLM_PROCESS_ID", "1")
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  monkeypatch.delenv("SIGNLLM_CPU_COLLECTIVES", raising=False)
  assert distributed.env_config() == {
      "coordinator_address": "127.0.0.1:1234", "num_processes": 2,
      "process_id": 1, "cpu_collectives": "gloo"}


@pytest.mark.parametrize("env,match", [
    ({"SIGNLLM_PROCESS_ID": None}, "SIGNLLM_PROCESS_ID is not"),
    ({"SIGNLLM_PROCESS_ID": "2"}, r"must be in \[0, "),
    ({"SIGNLLM_NUM_PROCESSES": "two"}, "not an integer"),
    ({"SIGNLLM_COORDINATOR": "localhost"}, "host:port"),
])
def test_env_config_rejects_bad_settings(monkeypatch, env, match):
  base = {"SIGNLLM_COORDINATOR": "127.0.0.1:1234",
          "SIGNLLM_NUM_PROCESSES": "2", "SIGNLLM_PROCESS_ID": "0", **env}
  for k, v in base.items():
    if v is None:
      monkeypatch.delenv(k, raising=False)
    else:
      monkeypatch.setenv(k, v)
  with pytest.raises(distributed.DistributedConfigError, match=match):
    distributed.env_config()
