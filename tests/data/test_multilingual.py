"""One prompt2sign dataset over several languages through the pipeline."""

import math

import jax
import numpy as np
import pytest

from signllm_jax import languages
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import pipeline
from signllm_jax.data import skels
from tfds_builders import prompt2sign

_AUTO = jax.sharding.AxisType.Auto
# Each language's sentences in its own script and diacritics.
TEXTS = {
    "GSL": ["Morgen wird es größer und kühler", "Übermäßig heiße Grüße"],
    "KSL": ["내일은 비가 옵니다", "수어 문장을 만듭니다"],
    "LSF-CH": ["Où est la bibliothèque ?", "Ça s'améliore déjà"],
}
COUNTS = {"GSL": 24, "KSL": 8, "LSF-CH": 4}
# Sources in different coordinate frames (as PT vs Prompt2Sign files).
OFFSETS = {"GSL": 0.0, "KSL": 5.0, "LSF-CH": -3.0}


@pytest.fixture(scope="module")
def multi_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp("multi")
  rng = np.random.default_rng(0)
  for lang, n in COUNTS.items():
    for split, m in (("train", n), ("dev", 2)):
      records = [skels.Record(
          id=f"{lang}-{split}-{i}",
          text=f"{TEXTS[lang][i % 2]} {i}",
          pose=(rng.uniform(-1, 1, (6, 50, 3)) + OFFSETS[lang]).astype(
              np.float32))
                 for i in range(m)]
      skels.write_split(root / "manual" / lang, split, records,
                        convention="prompt2sign")
  builder = prompt2sign.build("multi", manual_dir=root / "manual",
                              data_dir=root / "data")
  return builder.data_path


def _cfg(path, **kw):
  cfg = pipeline.default_data_config()
  cfg.name, cfg.config = "prompt2sign", "multi_v1"
  cfg.data_dir = str(path.parents[2])
  cfg.batch_size = 2
  cfg.max_frames = 8
  cfg.frame_buckets = (8,)
  cfg.read_threads = 1
  cfg.prefetch = 1
  cfg.update(kw)
  return cfg


def test_shared_tokenizer_covers_every_script(multi_dir):
  tok = datasets.load_tokenizer(path=multi_dir, vocab_size=400)
  for lang, texts in TEXTS.items():
    for text in texts:
      assert tok.decode(tok.encode(text)) == text
      assert tok.lang_tag_id(lang) in tok.encode(f"{lang} {text}")
  # Hangul and accented letters seen in training are pieces of their own,
  # not UTF-8 byte fallbacks.
  for word in ("수어", "문장", "größer", "bibliothèque", "Ça"):
    pieces = tok.encode_pieces(word)
    assert not any(p.startswith("<0x") for p in pieces), pieces
  # An unseen script still round-trips (byte fallback), never <unk>.
  assert tok.decode(tok.encode("Türkçe ışık")) == "Türkçe ışık"


def test_lang_mix_modes():
  counts = {"GSL": 24, "KSL": 8, "LSF-CH": 4}
  prop = pipeline.lang_mix(counts, "proportional")
  assert prop == pytest.approx({"GSL": 24 / 36, "KSL": 8 / 36,
                                "LSF-CH": 4 / 36})
  assert pipeline.lang_mix(counts, "uniform") == pytest.approx(
      dict.fromkeys(counts, 1 / 3))
  temp = pipeline.lang_mix(counts, "temperature", 0.5)
  total = math.sqrt(24) + math.sqrt(8) + 2
  assert temp["KSL"] == pytest.approx(math.sqrt(8) / total)
  assert pipeline.lang_mix(counts, "temperature", 1.0) == pytest.approx(prop)
  with pytest.raises(ValueError, match="lang_weights must be one of"):
    pipeline.lang_mix(counts, "sqrt")
  with pytest.raises(ValueError, match="lang_alpha"):
    pipeline.lang_mix(counts, "temperature", 2.0)


def _chi2_p_value_df2(observed, expected):
  """Survival function of chi-square with 2 degrees of freedom: exp(-x/2)."""
  stat = sum((o - e) ** 2 / e for o, e in zip(observed, expected))
  return math.exp(-stat / 2)


@pytest.mark.parametrize("mode", ["proportional", "uniform", "temperature"])
def test_language_mix_follows_the_weights(multi_dir, mode):
  mesh = jax.make_mesh((1,), ("data",), axis_types=(_AUTO,),
                       devices=jax.devices()[:1])
  cfg = _cfg(multi_dir, lang_weights=mode, lang_alpha=0.5)
  it = pipeline.make_train_iterator(cfg, mesh=mesh, batch_axes=("data",))
  num = 600
  counts = dict.fromkeys(COUNTS, 0)
  for _ in range(num):
    lang = np.asarray(next(it)["lang"])
    assert (lang == lang[0]).all()  # language-homogeneous batches
    counts[languages.LANG_CODES[int(lang[0])]] += 1
  probs = pipeline.lang_mix(COUNTS, mode, 0.5)
  observed = [counts[l] for l in COUNTS]
  assert _chi2_p_value_df2(observed, [num * probs[l] for l in COUNTS]) > 0.01
  # The same test refuses a mix the iterator does not follow.
  other = "uniform" if mode != "uniform" else "proportional"
  wrong = pipeline.lang_mix(COUNTS, other, 0.5)
  assert _chi2_p_value_df2(observed,
                           [num * wrong[l] for l in COUNTS]) < 1e-6
  weights = {}
  for g in it.report["groups"]:
    weights[g["langs"][0]] = weights.get(g["langs"][0], 0) + g["weight"]
  assert weights == pytest.approx(probs)


def test_per_language_pose_statistics(multi_dir):
  source = datasets.data_source(multi_dir, "train")
  poses = {}
  for i in range(len(source)):
    ex = source[i]
    poses.setdefault(ex["lang"].decode(), []).append(ex["pose"])
  glob = datasets.load_stats(path=multi_dir)
  for lang, offset in OFFSETS.items():
    stats = datasets.load_stats(path=multi_dir, lang=lang)
    want = normalize.compute_stats(poses[lang])
    np.testing.assert_allclose(stats.mean_Jx3, want.mean_Jx3, atol=1e-5)
    assert stats.std == pytest.approx(want.std, rel=1e-5)
    assert abs(stats.mean_Jx3.mean() - offset) < 0.2
  assert glob.std > 2 * max(
      datasets.load_stats(path=multi_dir, lang=l).std for l in OFFSETS)
  mesh = jax.make_mesh((1,), ("data",), axis_types=(_AUTO,),
                       devices=jax.devices()[:1])
  it = pipeline.make_eval_batches(_cfg(multi_dir, pose_stats="per_lang",
                                       langs="KSL"), mesh=mesh,
                                  batch_axes=("data",), split="train")
  batch = {k: np.asarray(v) for k, v in next(iter(it)).items()}
  ksl = datasets.load_stats(path=multi_dir, lang="KSL")
  for row in range(2):
    want = normalize.to_frames(source[int(batch["idx"][row])]["pose"], ksl)
    np.testing.assert_allclose(batch["pose"][row, :6], want, atol=1e-5)
  with pytest.raises(ValueError, match="pose_stats must be"):
    pipeline.make_eval_batches(_cfg(multi_dir, pose_stats="mine"),
                               mesh=mesh, batch_axes=("data",))
