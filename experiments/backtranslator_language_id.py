"""How often the back-translator answers in the right language, on the test
ground truth and on a pose tokenizer's reconstruction of it.

SynthSign's back-translator (experiments/backtranslation.py) is trained on
all languages mixed and is not told the language, so its BLEU also scores
whether it recognises which language is signed; the exact recogniser is told
it. An answer is "in the right language" when the reference language's
vocabulary (the words of that language's test references) covers the most
of its words (ties count for every tied language). A diagnostic, not a
metric of the evaluation tables.

COMMAND:
  python experiments/backtranslator_language_id.py \\
      --tokenizer_workdir runs/pose_tok --backtranslation_workdir runs/bt_cpu
"""

import argparse
import collections
import re

import jax
import ml_collections
import numpy as np

from signllm_jax import languages
from signllm_jax import workdir as workdir_lib
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import pipeline
from signllm_jax.evaluate import backtranslation
from signllm_jax.evaluate import caps
from signllm_jax.evaluate import tokenizer_eval


def words(text: str) -> list[str]:
  return re.findall(r"\w+", text.lower())


def languages_of(text: str, vocab: dict[str, set]) -> list[str]:
  """The languages whose vocabulary covers the most of `text`'s words."""
  score = {lang: sum(w in v for w in words(text)) for lang, v in vocab.items()}
  best = max(score.values(), default=0)
  return [lang for lang, s in score.items() if s == best] if best else []


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--tokenizer_workdir", required=True)
  p.add_argument("--backtranslation_workdir", required=True)
  p.add_argument("--max_examples", type=int, default=300)
  args = p.parse_args(argv)
  loaded = workdir_lib.load_workdir(args.tokenizer_workdir)
  bt = backtranslation.load(args.backtranslation_workdir,
                            tokenizer=loaded.tokenizer, data=loaded.cfg.data)
  data_cfg = ml_collections.ConfigDict(loaded.cfg.data.to_dict())
  data_cfg.language_homogeneous = True
  data_cfg.too_long = "truncate"
  source = datasets.data_source(datasets.dataset_dir(
      data_cfg.name, data_cfg.config, data_cfg.data_dir or None), "test")
  cap = caps.PerLanguageCap(args.max_examples)
  frames = collections.defaultdict(lambda: ([], [], []))  # gt, recon, text
  for batch in pipeline.make_eval_batches(data_cfg, mesh=loaded.mesh,
                                          split="test"):
    lang_B = np.asarray(jax.device_get(batch["lang"]))
    if cap.full(lang_B[0]):
      continue
    recon, _ = tokenizer_eval._roundtrip(loaded.model, batch["pose"])
    host = jax.device_get({k: batch[k] for k in
                           ("pose", "length", "idx", "example_mask")})
    recon = np.asarray(jax.device_get(recon))
    for row in cap.take(lang_B, host["example_mask"]):
      lang = languages.LANG_CODES[int(lang_B[row])]
      n = int(host["length"][row])
      gt_f, rec_f, texts = frames[lang]
      for out, x in ((gt_f, host["pose"][row, :n, :-1]),
                     (rec_f, recon[row, :n])):
        out.append(normalize.to_frames(
            tokenizer_eval._pose(x, loaded.stats), loaded.stats))
      text = source[int(host["idx"][row])]["text"]
      texts.append(text.decode() if isinstance(text, bytes) else str(text))
  vocab = {lang: {w for t in f[2] for w in words(t)}
           for lang, f in frames.items()}
  print(f"Back-translator {bt.name}: answers in the right language (%)\n")
  print("| lang | n | ground truth | tokenizer reconstruction |")
  print("|---|---|---|---|")
  for lang, (gt_f, rec_f, texts) in frames.items():
    right = [100 * np.mean([lang in languages_of(t, vocab)
                            for t in bt.translate(f)]) for f in (gt_f, rec_f)]
    print(f"| {lang} | {len(texts)} | {right[0]:.1f} | {right[1]:.1f} |",
          flush=True)


if __name__ == "__main__":
  main()
