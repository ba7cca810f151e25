"""Tests for signllm_jax.evaluate.report."""

import json

import numpy as np
import pytest

from signllm_jax.evaluate import report


def _results():
  full = {"bleu1": 30.0, "bleu2": 20.0, "bleu3": 15.0, "bleu4": 10.456,
          "rouge": 40.0, "dtw": 11.2, "dtw_mje": 0.3,
          "hand_motion_ratio": 0.8, "hand_travel": 0.9,
          "gloss_accuracy": None, "gloss_accuracy_dtw": 50.0}
  return {"GSL": {
      report.GROUND_TRUTH: dict(full, dtw=0.0),
      report.MEAN_POSE: dict(full, hand_motion_ratio=0.0),
      "SignLLM-M": full,
      report.NEAREST_NEIGHBOUR: {"dtw": 12.0, "extra": np.float32(1.5)},
      report.LEXICON: {"dtw": 8.0, "gloss_accuracy_dtw": 99.0},
  }}


def test_markdown_table_layout():
  rep = report.build_report(_results(), timing="oracle", note="BT: v1.")
  md = report.to_markdown(rep)
  lines = md.splitlines()
  assert lines[0] == "### GSL"
  assert lines[2] == ("| System | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | ROUGE | "
                      "DTW | DTW-MJE | Hand motion ratio | Hand travel | "
                      "Gloss acc. (synthetic) | Gloss acc. DTW (synthetic) |")
  assert lines[3] == "|---|" + "---:|" * 11
  rows = [l.split(" | ")[0].lstrip("| ") for l in lines[4:9]]
  assert rows == ["SignLLM-M", "mean pose", "nearest neighbour", "lexicon",
                  "ground truth"]
  assert lines[4] == ("| SignLLM-M | 30.00 | 20.00 | 15.00 | 10.46 | 40.00 | "
                      "11.20 | 0.30 | 0.80 | 0.90 | – | 50.00 |")
  assert lines[7] == ("| lexicon | – | – | – | – | – | 8.00 | – | – | – | – "
                      "| 99.00 |")
  assert lines[6].startswith("| nearest neighbour | – | – |")
  assert "Note: Timing: oracle length" in md and "BT: v1." in md


def test_json_roundtrip(tmp_path):
  rep = report.build_report(_results(), timing="predicted",
                            settings={"bleu_tokenizer": "13a"})
  json_path, md_path = report.write_report(rep, tmp_path / "out" / "eval")
  loaded = json.loads(json_path.read_text(encoding="utf-8"))
  assert loaded["timing"] == "predicted"
  assert "predicted counter" in loaded["note"]
  assert loaded["languages"]["GSL"]["nearest neighbour"]["extra"] == 1.5
  assert loaded["settings"] == {"bleu_tokenizer": "13a"}
  assert md_path.read_text(encoding="utf-8").startswith("### GSL")


def test_bad_timing():
  with pytest.raises(ValueError, match="timing must be one of"):
    report.build_report(_results(), timing="guess")


def test_pose_metrics_ground_truth_and_still():
  rng = np.random.default_rng(0)
  refs = [rng.normal(size=(n, 50, 3)).astype(np.float32) for n in (5, 9, 7)]
  gt = report.pose_metrics(refs, refs)
  assert gt["dtw"] == pytest.approx(0.0, abs=1e-6)
  assert gt["dtw_mje"] == pytest.approx(0.0, abs=1e-6)
  assert gt["hand_motion_ratio"] == pytest.approx(1.0)
  assert gt["hand_travel"] == pytest.approx(1.0)
  still = [np.repeat(r.mean(0, keepdims=True), len(r), 0) for r in refs]
  out = report.pose_metrics(still, refs)
  assert out["dtw"] > 0 and out["hand_motion_ratio"] == 0.0
  assert out["hand_travel"] == 0.0


def test_pose_metrics_units_and_bos():
  rng = np.random.default_rng(1)
  ref = rng.normal(size=(6, 50, 3)).astype(np.float32)
  hyp = rng.normal(size=(6, 50, 3)).astype(np.float32)
  a = report.pose_metrics([hyp], [ref], units_divisor=1.0)
  b = report.pose_metrics([hyp], [ref], units_divisor=3.0)
  assert a["dtw"] == pytest.approx(3 * b["dtw"], rel=1e-5)
  # 151-d frames with a leading BOS frame give the same numbers once dropped.
  frames = np.concatenate([hyp.reshape(6, -1),
                           (np.arange(6)[:, None] + 1) / 6], 1)
  with_bos = np.concatenate([np.full((1, 151), 7.0), frames])
  c = report.pose_metrics([with_bos], [ref], drop_hyp_first=True)
  assert c == pytest.approx(b, rel=1e-5)
