"""How good a trained pose tokenizer is (model mode "pose_tokenizer").

On every example of a split (at most `max_examples` per language): the
reconstruction through the quantizer, de-normalised to skeleton units, and

- reconstruction MJE per part (mean per-joint Euclidean error over real
  frames; body, left hand, right hand), in skeleton units;
- the exact SynthSign recogniser on the reconstructed ground truth beside
  the ground truth's own score (the tokenizer must keep the signs: >= 95%
  of the ground truth's score), when the dataset carries a lexicon;
- codebook usage per part: share of the codes used and the perplexity of
  the code distribution over the split's real tokens;
- speed: tokens/s to encode and to decode a batch, compiled (median of
  repeats after a warm-up);
- with a back-translator: BLEU-4 of its reading of the reconstructions
  beside the ground truth's, the ceiling a token model's BLEU has under that
  evaluator (the recogniser can keep every sign while a learned reader loses
  some: measured in docs/RESULTS.md).
"""

import collections
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from flax import nnx

from signllm_jax import languages
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import pipeline
from signllm_jax.data.synth import recognizer
from signllm_jax.evaluate import caps
from signllm_jax.evaluate import context as context_lib
from signllm_jax.evaluate import text_metrics
from signllm_jax.evaluate import synth_evals
from signllm_jax.model import fsq
from signllm_jax.model import pose_tokenizer as tok_lib


@jax.jit
def _roundtrip(model, frames_BxTxF):
  out = model({"pose": frames_BxTxF}, train=False)
  return out["recon"], out["indices"]


def _pose(frames_TxP, stats) -> np.ndarray:
  t = len(frames_TxP)
  full = np.concatenate([frames_TxP, np.zeros((t, 1), np.float32)], -1)
  return np.asarray(normalize.from_frames(full, stats), np.float32)


def _mje(a_TxJx3, b_TxJx3, joints) -> float:
  d = np.linalg.norm(a_TxJx3[:, joints] - b_TxJx3[:, joints], axis=-1)
  return float(np.nanmean(d))


def evaluate(loaded, data_cfg, split: str, max_examples: int | None, *,
             progress: bool = True, speed_batch: int = 8,
             speed_frames: int = 128, translator=None) -> dict[str, Any]:
  """The report (module docstring) as a dict. `translator`: optional, an
  object with `.name` and `.translate(frames_list) -> texts`
  (evaluate/backtranslation.py) for the BLEU rows."""
  if loaded.mode != "pose_tokenizer":
    raise context_lib.EvaluateError(
        f"{loaded.workdir} is mode {loaded.mode!r}, not a pose tokenizer")
  model = loaded.model
  ds = model.downsample
  path = datasets.dataset_dir(data_cfg.name, data_cfg.config,
                              data_cfg.data_dir or None)
  source = datasets.data_source(path, split)
  meta_path = path / "metadata.json"
  metadata = (__import__("json").loads(meta_path.read_text("utf-8"))
              if meta_path.is_file() else {})
  lexicon = synth_evals.dataset_lexicon(metadata)
  batches = pipeline.make_eval_batches(data_cfg, mesh=loaded.mesh,
                                       split=split)
  cap = caps.PerLanguageCap(max_examples)
  count = collections.Counter()
  parts = {name: np.r_[start:stop] for name, start, stop in tok_lib.PARTS}
  mje = {name: [] for name in parts}
  acc_gt, acc_rec = collections.defaultdict(list), collections.defaultdict(
      list)
  codes = {name: [] for name in parts}
  # lang -> (ground-truth frames, reconstructed frames, reference texts)
  to_read = collections.defaultdict(lambda: ([], [], []))
  for batch in tqdm.tqdm(batches, total=len(batches),
                         desc=f"tokenizer {split}", disable=not progress):
    lang_B = np.asarray(jax.device_get(batch["lang"]))
    if cap.full(lang_B[0]):
      continue
    recon, indices = _roundtrip(model, batch["pose"])
    host = jax.device_get({"pose": batch["pose"], "length": batch["length"],
                           "idx": batch["idx"],
                           "example_mask": batch["example_mask"],
                           "recon": recon, "indices": indices})
    for row in cap.take(lang_B, host["example_mask"]):
      lang = languages.LANG_CODES[int(lang_B[row])]
      count[lang] += 1
      n = int(host["length"][row])
      ref = _pose(host["pose"][row, :n, :-1], loaded.stats)
      rec = _pose(host["recon"][row, :n], loaded.stats)
      for name, joints in parts.items():
        mje[name].append(_mje(rec, ref, joints))
        codes[name].append(host["indices"][name][row, :-(-n // ds)])
      r = source[int(host["idx"][row])]
      if translator is not None:
        gt_f, rec_f, texts = to_read[lang]
        gt_f.append(normalize.to_frames(ref, loaded.stats))
        rec_f.append(normalize.to_frames(rec, loaded.stats))
        text = r["text"]
        texts.append(text.decode("utf-8") if isinstance(text, bytes)
                     else str(text))
      sign_ids = np.asarray(r.get("sign_ids", np.zeros(0)), np.int64)
      if lexicon is not None and len(sign_ids):
        spans = np.asarray(r["spans"], np.int64).reshape(-1, 2)
        acc_gt[lang].append(recognizer.gloss_accuracy(
            ref, lang, sign_ids, spans, n, lexicon=lexicon))
        acc_rec[lang].append(recognizer.gloss_accuracy(
            rec, lang, sign_ids, spans, n, lexicon=lexicon))
  if not count:
    raise context_lib.EvaluateError(f"{path}: split {split!r} is empty")
  report: dict[str, Any] = {
      "split": split, "examples": dict(count), "downsample": ds,
      "levels": list(model.levels),
      "mje": {name: float(np.mean(v)) for name, v in mje.items()},
      "usage": {name: fsq.usage(np.concatenate(v), model.levels)
                for name, v in codes.items()}}
  if acc_gt:
    report["recognizer"] = {
        lang: {"ground_truth": 100 * float(np.mean(acc_gt[lang])),
               "reconstructed": 100 * float(np.mean(acc_rec[lang]))}
        for lang in acc_gt}
  if translator is not None:
    report["backtranslation"] = {"backtranslator": translator.name}
    for lang, (gt_f, rec_f, texts) in to_read.items():
      report["backtranslation"][lang] = {
          "ground_truth": text_metrics.text_scores(
              translator.translate(gt_f), texts, lang=lang)["bleu4"],
          "reconstructed": text_metrics.text_scores(
              translator.translate(rec_f), texts, lang=lang)["bleu4"]}
  report["speed"] = speed(model, batch=speed_batch, frames=speed_frames)
  return report


def speed(model, *, batch: int, frames: int, repeats: int = 20
          ) -> dict[str, float]:
  """Tokens/s (all three streams) to encode and decode, compiled."""
  graphdef, state = nnx.split(model)

  @jax.jit
  def enc(state, frames_BxTxF):
    return nnx.merge(graphdef, state).tokenize(frames_BxTxF)

  @jax.jit
  def dec(state, indices):
    return nnx.merge(graphdef, state).detokenize(indices)

  x = jnp.zeros((batch, frames, tok_lib.skeleton.FRAME_DIM), jnp.float32)
  idx = jax.block_until_ready(enc(state, x))
  jax.block_until_ready(dec(state, idx))
  t_enc, t_dec = [], []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(enc(state, x))
    t1 = time.perf_counter()
    jax.block_until_ready(dec(state, idx))
    t_enc.append(t1 - t0)
    t_dec.append(time.perf_counter() - t1)
  tokens = batch * (frames // model.downsample) * len(tok_lib.PART_NAMES)
  return {"batch": batch, "frames": frames,
          "encode_tokens_per_s": tokens / statistics.median(t_enc),
          "decode_tokens_per_s": tokens / statistics.median(t_dec),
          "encode_frames_per_s": batch * frames / statistics.median(t_enc),
          "decode_frames_per_s": batch * frames / statistics.median(t_dec)}


def to_markdown(report) -> str:
  lines = [f"Pose tokenizer on {report['split']} "
           f"({sum(report['examples'].values())} examples), "
           f"{report['downsample']}x downsampling, FSQ levels "
           f"{report['levels']}", "",
           "| part | MJE (skeleton units) | codes used % | perplexity |",
           "|---|---|---|---|"]
  for name, m in report["mje"].items():
    u = report["usage"][name]
    lines.append(f"| {name} | {m:.4f} | {100 * u['codes_used']:.1f} | "
                 f"{u['perplexity']:.0f} of {u['codebook_size']} |")
  if "recognizer" in report:
    lines += ["", "| language | recogniser on ground truth % | on "
              "reconstruction % | ratio |", "|---|---|---|---|"]
    for lang, r in report["recognizer"].items():
      ratio = r["reconstructed"] / max(r["ground_truth"], 1e-9)
      lines.append(f"| {lang} | {r['ground_truth']:.1f} | "
                   f"{r['reconstructed']:.1f} | {ratio:.3f} |")
  if "backtranslation" in report:
    bt = dict(report["backtranslation"])
    lines += ["", f"Back-translation BLEU-4 ({bt.pop('backtranslator')}):",
              "", "| language | ground truth | reconstruction |",
              "|---|---|---|"]
    for lang, r in bt.items():
      lines.append(f"| {lang} | {r['ground_truth']:.2f} | "
                   f"{r['reconstructed']:.2f} |")
  s = report["speed"]
  lines += ["", f"Speed (batch {s['batch']}, {s['frames']} frames): encode "
            f"{s['encode_tokens_per_s']:,.0f} tokens/s, decode "
            f"{s['decode_tokens_per_s']:,.0f} tokens/s"]
  return "\n".join(lines) + "\n"
