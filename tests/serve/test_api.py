"""The JSON API of `signllm serve`, against a live uvicorn server."""

import concurrent.futures
import re

import numpy as np
import pytest

from signllm_jax import skeleton
from signllm_jax.data import datasets
from signllm_jax.data import pose_io
from signllm_jax.data import skels
from signllm_jax.generate import pipeline as gen
from signllm_jax.serve import app as app_lib
from signllm_jax.serve import references
from signllm_jax.serve import service as service_lib
from tests.serve import server

TEXT_ASL = "Often the mother eats the bread."  # test split, ASL


def _post(url, body=None, **kw):
  return server.request(f"{url}/generate", body, **kw)


def _frames(panel) -> np.ndarray:
  return np.array(panel["frames"], np.float32)


@pytest.fixture(scope="module")
def asl(server_url):
  status, res, _ = _post(server_url, {"text": TEXT_ASL, "lang": "ASL"})
  assert status == 200, res
  return res


@pytest.fixture(scope="module")
def dataset_path(mlsf_service):
  return references.dataset_path(mlsf_service.loaded.cfg,
                                 mlsf_service.loaded.workdir)


def test_info(server_url, mlsf_service):
  status, info, _ = server.request(f"{server_url}/info")
  assert status == 200
  assert info["mode"] == "mlsf" and info["input"] == "text"
  assert [l["code"] for l in info["langs"]] == list(
      mlsf_service.loaded.langs)
  assert info["backends"] == ["model", "retrieval", "lexicon"]
  assert info["ground_truth"] is True
  assert info["limits"]["max_tokens"] == int(
      mlsf_service.loaded.cfg.data.max_text_len)
  assert TEXT_ASL in info["examples"]["ASL"]
  assert info["skeleton"]["joints"] == skeleton.NUM_JOINTS
  assert [tuple(b) for b in info["skeleton"]["bones"]] == list(
      skeleton.BONES)
  assert info["warmup_s"] > 0  # the model was compiled at start-up


def test_model_frames_match_the_generator(asl, mlsf_service):
  frames = _frames(asl)
  assert frames.shape == (asl["length"], skeleton.NUM_JOINTS, 3)
  assert asl["lengths"]["model"] == asl["length"] and asl["fps"] == gen.FPS
  assert asl["name"] == "model" and asl["lang"] == "ASL"
  assert asl["lang_gloss"] is None and asl["timing"]["mode"] == "predicted"
  (direct,) = gen.generate(mlsf_service.loaded,
                           [gen.Request(TEXT_ASL, "ASL", "test")],
                           length_mode=mlsf_service.length_mode)
  np.testing.assert_allclose(frames, direct.pose_TxJx3, atol=1e-4)


def test_ground_truth_and_retrieval(asl, dataset_path):
  gt = asl["ground_truth"]
  test = datasets.data_source(dataset_path, "test")
  rec = next(test[i] for i in range(len(test))
             if test[i]["text"].decode() == TEXT_ASL)
  assert rec["id"].decode() in gt["note"]
  np.testing.assert_allclose(_frames(gt), rec["pose"], atol=1e-4)
  assert asl["lengths"]["ground_truth"] == len(rec["pose"])
  (retrieval,) = asl["others"]
  assert retrieval["name"] == "retrieval"
  # The neighbour is a real ASL training clip, returned whole.
  text = re.search(r"nearest training text \(ASL\): '(.*)'$",
                   retrieval["note"])[1]
  train = datasets.data_source(dataset_path, "train")
  poses = [train[i]["pose"] for i in range(len(train))
           if train[i]["text"].decode() == text
           and train[i]["lang"].decode() == "ASL"]
  assert any(np.allclose(_frames(retrieval), p, atol=1e-4) for p in poses)
  # No word of this sentence is an isolated sign of the tiny corpus.
  (lexicon,) = asl["skipped"]
  assert lexicon["name"] == "lexicon"
  assert "no word of" in lexicon["reason"]


def test_lexicon_panel_and_backend(server_url, mlsf_service):
  lexicon = next(b for b in mlsf_service.refs.baselines
                 if b.name == "lexicon").by_lang["ASL"]
  words = [" ".join(p) for p in list(lexicon.phrases)[:2]]
  text = " ".join(words + ["qqq"])  # two known signs, one unknown word
  status, res, _ = _post(server_url, {"text": text, "lang": "ASL",
                                      "backend": "lexicon"})
  assert status == 200, res
  assert res["name"] == "lexicon" and res["skipped"] == []
  assert "2 signs" in res["note"] and "skipped 1 unknown: qqq" in res["note"]
  expected, _ = lexicon.predict_text(text)
  np.testing.assert_allclose(_frames(res), expected, atol=1e-4)
  assert [p["name"] for p in res["others"]] == ["model", "retrieval"]
  status, res, _ = _post(server_url, {"text": "qqq", "lang": "ASL",
                                      "backend": "lexicon"})
  assert status == 400 and "lexicon backend has nothing" in res["error"]


def test_no_ground_truth_for_other_text(server_url):
  status, res, _ = _post(server_url, {"text": "The mother eats.",
                                      "lang": "ASL"})
  assert status == 200 and res["ground_truth"] is None
  assert "ground_truth" not in res["lengths"]


def test_retrieval_backend(server_url, asl):
  status, res, _ = _post(server_url, {"text": TEXT_ASL, "lang": "ASL",
                                      "backend": "retrieval"})
  assert status == 200
  assert res["name"] == "retrieval" and res["backend"] == "retrieval"
  assert [p["name"] for p in res["others"]] == ["model"]
  np.testing.assert_array_equal(_frames(res), _frames(asl["others"][0]))


@pytest.mark.parametrize("body, status, message", [
    ({"text": "   ", "lang": "ASL"}, 400, "empty text"),
    ({"text": "hello", "lang": "XYZ"}, 400, "unknown sign language 'XYZ'"),
    ({"text": "hello"}, 400, "choose a sign language"),
    ({"text": "bread " * 40, "lang": "ASL"}, 413, "at most 24"),
    ({"text": "x" * (service_lib.MAX_CHARS + 1), "lang": "ASL"}, 413,
     "characters"),
    ({"prompt": "How do I sign it?", "lang": "ASL"}, 400,
     "MLSF model: send 'text'"),
    ({"text": "hello", "lang": "ASL", "backend": "gpt"}, 400,
     "unknown backend 'gpt'"),
    ({"txt": "hello", "lang": "ASL"}, 422, "txt: Extra inputs"),
    ({"text": 3, "lang": "ASL"}, 422, "text:"),
])
def test_bad_input_is_a_clear_4xx(server_url, body, status, message):
  got, res, _ = _post(server_url, body)
  assert got == status
  assert set(res) == {"error"} and message in res["error"]
  assert "Traceback" not in res["error"]


def test_not_json(server_url):
  status, res, _ = _post(server_url, raw=b"{not json")
  assert status == 422 and res["error"] == "bad request body: not valid JSON"


def test_downloads(server_url, asl, tmp_path):
  frames = _frames(asl)
  status, data, headers = server.request(server_url + asl["downloads"]["pose"])
  assert status == 200 and "attachment" in headers["content-disposition"]
  (tmp_path / "a.pose").write_bytes(data)
  pose, fps = pose_io.read_internal_pose(tmp_path / "a.pose")
  assert fps == gen.FPS
  np.testing.assert_allclose(pose, frames, atol=1e-3)
  status, data, _ = server.request(server_url + asl["downloads"]["skels"])
  assert status == 200
  (tmp_path / "b.skels").write_bytes(data)
  (tmp_path / "b.text").write_text(TEXT_ASL + "\n", encoding="utf-8")
  (tmp_path / "b.files").write_text("x\n", encoding="utf-8")
  (rec,) = skels.read_split(tmp_path, "b").records
  np.testing.assert_allclose(rec.pose, frames, atol=1e-3)
  status, data, headers = server.request(server_url + asl["downloads"]["mp4"])
  assert status == 200 and headers["content-type"] == "video/mp4"
  assert data[4:8] == b"ftyp"  # an MP4 container
  gt = asl["ground_truth"]["downloads"]["pose"]
  status, data, _ = server.request(server_url + gt)
  (tmp_path / "gt.pose").write_bytes(data)
  gt_pose, _ = pose_io.read_internal_pose(tmp_path / "gt.pose")
  np.testing.assert_allclose(gt_pose, _frames(asl["ground_truth"]),
                             atol=1e-3)


@pytest.mark.parametrize("path, message", [
    ("/download/0123456789ab.pose", "no result"),
    ("/download/{id}.gif", "unknown format 'gif'"),
    ("/download/{id}.pose?system=lexicon", "no system 'lexicon'"),
    ("/download/..%2F..%2Fetc%2Fpasswd.pose", "Not Found"),
])
def test_unknown_download_is_404(server_url, asl, path, message):
  status, res, _ = server.request(server_url + path.format(id=asl["id"]))
  assert status == 404 and message in res["error"]


def test_concurrent_requests_do_not_interleave(server_url, mlsf_service):
  texts = {"ASL": "The father drinks.", "GSL": "Die Mutter isst.",
           "LSF-CH": "La poule n'est pas lourde.", "KSL": "친구가 슬프다."}
  expected = {l: gen.generate(mlsf_service.loaded, [gen.Request(t, l, "t")],
                              length_mode=mlsf_service.length_mode)[0]
              for l, t in texts.items()}
  jobs = [(l, t) for l, t in texts.items()] * 2
  assert len(jobs) <= mlsf_service.max_queue  # more may be refused as busy
  with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
    results = list(pool.map(
        lambda job: _post(server_url, {"text": job[1], "lang": job[0]}),
        jobs))
  assert len({res["id"] for _, res, _ in results}) == len(jobs)
  for (lang, _), (status, res, _) in zip(jobs, results):
    assert status == 200 and res["lang"] == lang
    np.testing.assert_allclose(_frames(res), expected[lang].pose_TxJx3,
                               atol=1e-4)


def test_old_results_are_dropped(server_url, mlsf_service):
  keep = mlsf_service.max_results
  mlsf_service.max_results = 2
  try:
    ids = [_post(server_url, {"text": t, "lang": "ASL"})[1]["id"]
           for t in ("The father drinks.", "The mother eats.", "help")]
  finally:
    mlsf_service.max_results = keep
  status, res, _ = server.request(f"{server_url}/download/{ids[0]}.pose")
  assert status == 404 and "newest" in res["error"]
  assert server.request(f"{server_url}/download/{ids[2]}.pose")[0] == 200


def test_too_many_waiting_is_503(server_url, mlsf_service):
  # pylint: disable=protected-access
  mlsf_service._waiting = mlsf_service.max_queue  # as if they were waiting
  try:
    status, res, _ = _post(server_url, {"text": TEXT_ASL, "lang": "ASL"})
  finally:
    mlsf_service._waiting = 0
  assert status == 503 and res["error"].startswith("busy")


def test_docs_page_and_no_cdn(server_url):
  status, text, _ = server.request(f"{server_url}/docs")
  assert status == 200 and b"POST /generate" in text
  assert server.request(f"{server_url}/redoc")[0] == 404
  for name in ("/", "/static/app.js", "/static/style.css"):
    status, body, _ = server.request(server_url + name)
    assert status == 200
    assert not re.search(rb"https?://|//cdn", body), name


class _Failing:
  """A service whose generation fails unexpectedly (a bug, not bad input)."""

  def generate(self, body):
    raise RuntimeError(f"boom on {body['text']}")


def test_unexpected_failure_is_500_without_traceback():
  with server.running(app_lib.create_app(service=_Failing())) as url:
    status, res, _ = _post(url, {"text": "hi", "lang": "ASL"})
  assert status == 500
  assert res == {"error": "internal error: RuntimeError: boom on hi"}
