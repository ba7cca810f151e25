"""Streaming, multi-language and Beam builds of the prompt2sign builder."""

import importlib.util

import numpy as np
import pytest
import tensorflow_datasets as tfds

from signllm_jax.data import skels
from tfds_builders import prompt2sign
from tfds_builders import streaming
from tfds_builders.prompt2sign import beam_source
from tfds_builders.prompt2sign import prompt2sign_dataset_builder as p2s


def _records(n, seed=0, text="Satz"):
  rng = np.random.default_rng(seed)
  return [skels.Record(
      id=f"c{i}", text=f"{text} {i}",
      pose=rng.uniform(-1, 1, (2 + i % 5, 50, 3)).astype(np.float32),
      gloss=f"G{i} AUCH") for i in range(n)]


def _manual(tmp_path, n=23, bad_lines=(4, 17)):
  """A GSL and a KSL folder; some GSL lines are broken on purpose."""
  manual = tmp_path / "manual"
  skels.write_split(manual / "GSL", "train", _records(n),
                    convention="prompt2sign")
  skels.write_split(manual / "GSL", "dev", _records(3, 1),
                    convention="prompt2sign")
  skels.write_split(manual / "KSL", "train", _records(7, 2, "수어 문장"),
                    convention="prompt2sign")
  path = manual / "GSL" / "train.skels"
  lines = path.read_text().splitlines()
  for b in bad_lines:
    lines[b] += " 0.5"
  path.write_text("\n".join(lines) + "\n")
  return manual


class _InMemoryBuilder(p2s.Builder):
  """The pre-streaming reference: reads a whole split, then yields it."""

  def _generate_examples(self, dirs, split):
    cfg = self.builder_config
    results, examples, offset = {}, [], 0
    total = beam_source.plan(dirs, split, variant=cfg.variant,
                             lines_per_shard=1, skip_bad=True,
                             full=False).total_lines
    for lang, directory in dirs.items():
      result = skels.read_split(directory, split, on_error="skip")
      skipped = {s.line for s in result.skipped}
      good = [i for i in range(result.num_lines) if i + 1 not in skipped]
      for i, record in zip(good, result.records):
        examples.append((streaming.spread_key(offset + i, total),
                         p2s.make_example(record, lang, split,
                                          id_prefix=f"{lang}/")))
      offset += result.num_lines
      results[lang] = result
    yield from examples


def _data_files(builder):
  # File names start with the builder's name; the rest must agree.
  return {p.name.split("-", 1)[1]: p.read_bytes()
          for p in sorted(builder.data_path.glob("*array_record*"))}


def _read_all(path, split):
  source = tfds.builder_from_directory(str(path)).as_data_source(split)
  return [source[i] for i in range(len(source))]


def test_streaming_build_matches_in_memory_reference_bytes(tmp_path):
  manual = _manual(tmp_path)
  streamed = prompt2sign.build("multi", manual_dir=manual,
                               data_dir=tmp_path / "s", skip_bad=True,
                               buffer_bytes=4096)  # forces TFDS to spill
  reference = _InMemoryBuilder(config="multi_v1", data_dir=tmp_path / "r",
                               skip_bad=True)
  reference.download_and_prepare(
      file_format="array_record",
      download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
  files = _data_files(streamed)
  assert files and files == _data_files(reference)
  train = _read_all(streamed.data_path, "train")
  assert len(train) == 23 - 2 + 7
  ids = [e["id"].decode() for e in train]
  assert ids[:4] == ["GSL/c0", "GSL/c1", "GSL/c2", "GSL/c3"]
  assert "GSL/c4" not in ids and "GSL/c17" not in ids
  assert ids[-7:] == [f"KSL/c{i}" for i in range(7)]
  meta = streamed.info.metadata
  assert meta["langs"] == ["GSL", "KSL"]
  entry = meta["splits"]["train"]
  assert (entry["num_lines"], entry["num_examples"], entry["num_skipped"]) == (
      30, 28, 2)
  assert entry["by_lang"]["KSL"]["num_examples"] == 7
  assert [(s["lang"], s["line"]) for s in meta["skipped"]] == [
      ("GSL", 5), ("GSL", 18)]
  assert meta["splits"]["dev"]["num_examples"] == 3


def test_multi_config_needs_language_folders(tmp_path):
  skels.write_split(tmp_path / "flat", "train", _records(2),
                    convention="prompt2sign")
  with pytest.raises(skels.FormatError, match="one folder per language"):
    prompt2sign.build("multi", manual_dir=tmp_path / "flat",
                      data_dir=tmp_path / "d")


def test_beam_plan_shards_cover_every_line(tmp_path):
  manual = _manual(tmp_path)
  (manual / "GSL" / "train.files").write_text("".join(
      f"{'c3' if i == 12 else f'c{i}'}\n" for i in range(23)))
  dirs = p2s.language_dirs(manual, p2s.MULTI)
  plan = beam_source.plan(dirs, "train", variant="v1", lines_per_shard=5,
                          skip_bad=True, full=True)
  assert plan.total_lines == 30
  assert [(s.lang, s.first_line, s.num_lines) for s in plan.shards] == [
      ("GSL", 0, 5), ("GSL", 5, 5), ("GSL", 10, 5), ("GSL", 15, 5),
      ("GSL", 20, 3), ("KSL", 0, 5), ("KSL", 5, 2)]
  # The copy of c3 on line 13 is a duplicate of line 4 (another shard).
  assert plan.shards[2].seen == {"c3": 4}
  assert all(s.detected == "prompt2sign" for s in plan.shards)


@pytest.mark.skipif(importlib.util.find_spec("apache_beam") is None,
                    reason="apache-beam is not installed (optional; it "
                    "conflicts with the pinned pillow/protobuf)")
def test_beam_direct_runner_gives_the_plain_examples(tmp_path):
  manual = _manual(tmp_path)
  plain = prompt2sign.build("multi", manual_dir=manual,
                            data_dir=tmp_path / "p", skip_bad=True)
  beam = prompt2sign.build("multi", manual_dir=manual,
                           data_dir=tmp_path / "b", skip_bad=True,
                           beam_runner="DirectRunner", lines_per_shard=4)
  for split in ("train", "dev"):
    a, b = _read_all(plain.data_path, split), _read_all(beam.data_path, split)
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
      assert x.keys() == y.keys()
      for k in x:
        np.testing.assert_array_equal(x[k], y[k])
  pm, bm = plain.info.metadata, beam.info.metadata
  assert pm["splits"] == bm["splits"] and pm["skipped"] == bm["skipped"]
  assert not list(beam.data_path.parent.glob(".beam_reports-*"))


@pytest.mark.real_data
def test_streaming_matches_reference_on_phoenix14t(sample_data_dir, tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  (manual / "GSL").symlink_to(sample_data_dir / "phoenix14t_pt")
  streamed = prompt2sign.build("multi", manual_dir=manual,
                               data_dir=tmp_path / "s", buffer_bytes=1 << 16)
  reference = _InMemoryBuilder(config="multi_v1", data_dir=tmp_path / "r")
  reference.download_and_prepare(
      file_format="array_record",
      download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
  assert _data_files(streamed) == _data_files(reference)
  meta = streamed.info.metadata
  assert meta["convention"] == "pt" and meta["neck_centred"] is True
  assert [meta["splits"][s]["num_examples"] for s in ("train", "dev")] == [
      5, 5]
