"""Round trip of SynthSign examples through the Prompt2Sign file layout."""

import numpy as np
import pytest

from signllm_jax.data.synth import corpus

skels = pytest.importorskip(
    "signllm_jax.data.skels",
    reason="signllm_jax.data.skels (the .skels reader/writer) is not there")
# pylint: disable-next=g-import-not-at-top,g-bad-import-order
from signllm_jax.data.synth import export  # noqa: E402


def test_write_and_read_back(tmp_path):
  examples = list(corpus.generate_split("tiny", "dev",
                                        langs=["KSL", "LSF-CH"]))[:12]
  paths = export.write_prompt2sign_layout(examples, tmp_path, "dev")
  assert set(paths) == {"KSL", "LSF-CH"}
  for lang in ("KSL", "LSF-CH"):
    for ext in ("skels", "text", "gloss", "files"):
      assert (tmp_path / lang / f"dev.{ext}").exists()
    result = skels.read_split(tmp_path / lang, "dev", convention="auto")
    assert result.convention == "prompt2sign"
    mine = [e for e in examples if e["lang"] == lang]
    assert len(result.records) == len(mine)
    for rec, ex in zip(result.records, mine):
      assert rec.id == ex["id"]
      assert rec.text == ex["text"]
      assert rec.gloss == ex["gloss"]
      assert rec.pose.shape == ex["pose"].shape
      # 5 decimals of value / 9; values that would print as the missing-
      # value sentinel are nudged by at most 1.4e-4 rather than lost.
      np.testing.assert_allclose(rec.pose, ex["pose"], atol=1.5e-4)
      assert np.all(np.isfinite(rec.pose))
