"""GenerationService beyond the MLSF API: P2LG, a lost dataset, start-up."""

import json
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from signllm_jax import cli
from signllm_jax.generate import pipeline as gen
from signllm_jax.serve import service as service_lib
from tests import trained
from tests.serve import server


def test_p2lg_decodes_and_shows_lang_gloss(p2lg_service):
  info = p2lg_service.info()
  assert info["mode"] == "p2lg" and info["input"] == "prompt"
  assert info["lang_required"] is False
  prompt = info["examples"]["ASL"][0]  # a test-split prompt
  res = p2lg_service.generate({"prompt": prompt})
  (direct,) = gen.generate(p2lg_service.loaded,
                           [gen.Request(prompt, None, "test")],
                           length_mode=p2lg_service.length_mode)
  assert res["lang_gloss"] == direct.lang_gloss
  assert isinstance(res["lang_gloss"], str)
  np.testing.assert_allclose(np.array(res["frames"]), direct.pose_TxJx3,
                             atol=1e-4)
  assert res["ground_truth"] is not None  # exact test-split prompt
  assert [p["name"] for p in res["others"]] == ["retrieval"]
  # Retrieval searches the decoded LangGloss's language, else the hint's.
  hinted = p2lg_service.generate({"prompt": prompt, "lang": "GSL"})
  lang = gen.lang_of_gloss(hinted["lang_gloss"]) or "GSL"
  assert hinted["lang"] == lang
  assert f"({lang})" in hinted["others"][0]["note"]


@pytest.mark.parametrize("body, message", [
    ({"text": "The mother eats."}, "Prompt2LangGloss model: send 'prompt'"),
    ({"prompt": ""}, "empty prompt"),
    ({"prompt": "Sign it", "lang": "BSL"}, "unknown sign language 'BSL'"),
])
def test_p2lg_bad_input(p2lg_service, body, message):
  with pytest.raises(service_lib.RequestError, match=message) as e:
    p2lg_service.generate(body)
  assert e.value.status == 400


def test_lost_dataset_serves_the_model_alone(mlsf_workdir, tmp_path):
  w = trained.copy_workdir(mlsf_workdir, tmp_path / "w")
  cfg = json.loads((w / "config.json").read_text())
  cfg["data"]["data_dir"] = str(tmp_path / "gone")
  (w / "config.json").write_text(json.dumps(cfg))
  info = json.loads((w / "assets" / "dataset.json").read_text())
  info["path"] = str(tmp_path / "gone" / "synth_sign")
  (w / "assets" / "dataset.json").write_text(json.dumps(info))
  service = service_lib.GenerationService(w, progress=False, warmup=False)
  try:
    info = service.info()
    assert info["backends"] == ["model"] and not info["ground_truth"]
    assert "dataset is not found" in info["notes"][0]
    res = service.generate({"text": "The mother eats.", "lang": "ASL"})
    assert res["others"] == [] and res["ground_truth"] is None
    assert res["length"] == len(res["frames"]) > 0
  finally:
    service.close()


def test_serve_refuses_a_workdir_without_checkpoint(mlsf_workdir, tmp_path,
                                                    capsys):
  w = tmp_path / "w"
  shutil.copytree(mlsf_workdir, w, ignore=shutil.ignore_patterns(
      "checkpoints"))
  assert cli.main(["serve", "--workdir", str(w)]) == 2
  err = capsys.readouterr().err
  assert "signllm serve: error:" in err and "no checkpoint" in err
  assert "Traceback" not in err
  assert cli.main(["serve", "--workdir", str(tmp_path / "nope")]) == 2
  assert "no such workdir" in capsys.readouterr().err
  assert cli.main(["serve", "--workdir", str(w), "--port", "0"]) == 2
  assert "--port" in capsys.readouterr().err
  with socket.socket() as taken:  # refused before the model is loaded
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = str(taken.getsockname()[1])
    assert cli.main(["serve", "--workdir", str(mlsf_workdir), "--port",
                     port]) == 2
  assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_signllm_serve_command_serves(mlsf_workdir, tmp_path):
  with socket.socket() as s:  # a free port (released for the server)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  log = (tmp_path / "serve.log").open("w")
  proc = subprocess.Popen(
      [sys.executable, "-m", "signllm_jax.cli", "serve", "--workdir",
       str(mlsf_workdir), "--port", str(port)], stdout=log,
      stderr=subprocess.STDOUT)
  url = f"http://127.0.0.1:{port}"
  try:
    deadline = time.monotonic() + 180
    while True:
      assert proc.poll() is None, (tmp_path / "serve.log").read_text()
      try:
        status, info, _ = server.request(f"{url}/info", timeout_s=5)
        break
      except OSError:  # not listening yet: loading and compiling
        assert time.monotonic() < deadline, "signllm serve did not start"
        time.sleep(0.5)
    assert status == 200 and info["mode"] == "mlsf"
    status, res, _ = server.request(f"{url}/generate",
                                    {"text": "The mother eats.",
                                     "lang": "GSL"})
    assert status == 200 and res["lang"] == "GSL"
  finally:
    proc.terminate()
    proc.wait(30)
    log.close()
  assert "warm-up request" in (tmp_path / "serve.log").read_text()
