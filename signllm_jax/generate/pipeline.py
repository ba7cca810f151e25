"""`signllm generate`: a trained workdir -> poses from text or prompts -> files.

Steps: load the workdir (workdir.py: config.json, assets/ and the newest
checkpoint's parameters) ->
tokenise -> (Prompt2LangGloss: stage-1 LangGloss decoding, greedy or beam per
cfg.generate) -> compiled pose decoding (`pose_decode.generate_pose`) ->
de-normalise with the dataset statistics -> write .skels / .pose / .npz /
.gif / .mp4.

Decisions:
- Timing: the model's own, by default: its length head ("length") when it
  has one (model.length_head), else its predicted counter ("counter").
  `--length oracle` needs ground-truth frame counts, which only a dataset
  has: it is refused here with a pointer to `signllm evaluate`, which reports
  both timings.
- Text longer than the model's `data.max_text_len` tokens (EOS included) is
  truncated exactly like the training pipeline truncates it, with a warning
  naming the input; the result carries `truncated=True`.
- MLSF batches are single-language (one language group per compiled call);
  batch mode groups the inputs by language and restores the input order.
- A batch of N inputs is decoded in chunks of `batch_size`; every chunk is
  padded (by repeating a row) to one shape, so one compile serves them all.
- `--convention pt` writes neck-centred poses (PT sources are neck-centred);
  `prompt2sign` writes them as produced.
- `--backend lexicon|retrieval` needs no checkpoint: the baselines
  (signllm_jax/baselines/) are fitted on the train split of the dataset the
  workdir names (W/assets/dataset.json). The lexicon reads `--text` word by
  word against the isolated signs' citation forms, `--gloss` as glosses (or a
  LangGloss), and `--prompt` through the workdir's Prompt2LangGloss stage 1;
  unknown words or glosses are skipped and printed, an input with none
  known is an error. Retrieval returns the training clip of the most
  similar training text. Both keep their own timing.
"""

import collections
import dataclasses
import json
import logging
import pathlib
from typing import Any, Sequence

import jax
import numpy as np
import tqdm

from signllm_jax import languages
from signllm_jax import workdir as workdir_lib
from signllm_jax.baselines import fit as baselines_fit
from signllm_jax.baselines import lexicon as lexicon_lib
from signllm_jax.data import datasets
from signllm_jax.data import normalize
from signllm_jax.data import pipeline as data_pipeline
from signllm_jax.data import prompts
from signllm_jax.data import skels
from signllm_jax.generate import gloss_decode
from signllm_jax.generate import pose_decode
from signllm_jax.generate import writers

log = logging.getLogger(__name__)

FPS = writers.FPS
BACKENDS = ("model", "lexicon", "retrieval")


class GenerateError(ValueError):
  """A problem with the workdir or the input, stated for the user."""


LoadedWorkdir = workdir_lib.LoadedWorkdir


def load_workdir(workdir: str | pathlib.Path, overrides: Sequence[str] = (),
                 ) -> LoadedWorkdir:
  """workdir.load_workdir, its errors stated as GenerateError."""
  try:
    loaded = workdir_lib.load_workdir(workdir, overrides)
  except workdir_lib.WorkdirError as e:
    raise GenerateError(str(e)) from None
  check_sampling(loaded.cfg)
  return loaded


def check_sampling(cfg) -> None:
  """Raises GenerateError for generate.temperature / top_k the model cannot
  take: negative values, or sampling a model that regresses frames."""
  g = cfg.generate
  temperature, top_k = float(g.get("temperature", 0.0)), int(
      g.get("top_k", 0))
  if temperature < 0 or top_k < 0:
    raise GenerateError(f"generate.temperature ({temperature}) and "
                        f"generate.top_k ({top_k}) must be >= 0 (0: greedy "
                        "/ all codes)")
  tokens = cfg.model.get("pose_decoder", "continuous") == "tokens"
  if (temperature > 0 or top_k) and not tokens:
    raise GenerateError(
        "generate.temperature / top_k sample pose tokens; this workdir's "
        "model regresses frames (model.pose_decoder=continuous), which "
        "decodes greedily only")


# --------------------------------------------------------------------------
# Requests -> token batches.


@dataclasses.dataclass
class Request:
  """One input: text (MLSF) or prompt (Prompt2LangGloss)."""
  source: str  # the text or the prompt
  lang: str | None  # required for MLSF; a hint (or None) for P2LG
  where: str  # for messages: "--text", "in.txt line 3"
  kind: str = "text"  # "text" | "prompt" | "gloss" (the lexicon backend)


@dataclasses.dataclass
class Generated:
  """One produced sequence in the internal convention."""
  id: str
  source: str  # the input text or prompt
  lang: str  # the sign language ("" when a P2LG LangGloss has no tag)
  pose_TxJx3: np.ndarray  # de-normalised, float32
  counter_T: np.ndarray  # the model's predicted counter per frame
  timing: str  # "predicted" | "oracle" | "lexicon" | "retrieval"
  lang_gloss: str | None = None  # the decoded LangGloss (P2LG)
  truncated: bool = False  # the input was cut to the model's max length
  skipped: tuple[str, ...] = ()  # lexicon: unknown words / glosses


def check_request(loaded: LoadedWorkdir, req: Request) -> None:
  """Raises GenerateError for an input the model cannot serve."""
  if not req.source.strip():
    what = "prompt" if loaded.mode == "p2lg" else "text"
    raise GenerateError(f"{req.where}: empty {what}")
  if req.lang is None:
    if loaded.mode != "p2lg":
      raise GenerateError(
          f"{req.where}: no sign language given: pass --lang (one of "
          f"{', '.join(loaded.langs)}) or write 'LANG<TAB>text' lines")
    return
  try:
    languages.lang_index(req.lang)
  except ValueError as e:
    raise GenerateError(f"{req.where}: {e}") from None
  if req.lang not in loaded.langs:
    raise GenerateError(
        f"{req.where}: the model in {loaded.workdir} was not trained on "
        f"{req.lang} (data.langs = {', '.join(loaded.langs)})")


def _source_rows(loaded: LoadedWorkdir, reqs: Sequence[Request]
                 ) -> tuple[dict[str, np.ndarray], list[bool]]:
  d = loaded.cfg.data
  p2lg = loaded.mode == "p2lg"
  key, max_len = ("prompt", d.max_prompt_len) if p2lg else (
      "text", d.max_text_len)
  rows, truncated = [], []
  for r in reqs:
    ids, cut = data_pipeline.encode_ids(loaded.tokenizer, r.source,
                                        int(max_len), bos=False)
    if cut:
      log.warning("%s: longer than the model's %s limit of %d tokens; "
                  "truncated (as in training)", r.where,
                  f"data.max_{key}_len", max_len)
    rows.append(ids)
    truncated.append(cut)
  tokens = np.stack(rows)
  lang = np.array([languages.lang_index(r.lang) if r.lang else 0
                   for r in reqs], np.int32)
  arrays = {key: tokens, f"{key}_mask": tokens != 0, "lang": lang}
  if p2lg:
    # A P2LG request that names its language is decoded in it.
    arrays["given_lang"] = np.array(
        [languages.lang_index(r.lang) if r.lang else -1 for r in reqs],
        np.int32)
  return arrays, truncated


# --------------------------------------------------------------------------
# The compiled core, shared with evaluation.


def decode_lang_gloss(loaded: LoadedWorkdir, batch, *,
                      decoding: str | None = None) -> np.ndarray:
  """Prompt2LangGloss stage 1: LangGloss token rows (BOS ... EOS 0...).

  decoding: "greedy" or "beam" (None: generate.gloss_decoding). A row of
  batch["given_lang"] >= 0 (a language index) is decoded in that language:
  every tag it emits is that language's (gloss_decode.py); -1 or no such
  key leaves the tags to the model.
  """
  g = loaded.cfg.generate
  tok = loaded.tokenizer
  decoding = decoding or g.gloss_decoding
  src = {"prompt": batch["prompt"], "prompt_mask": batch["prompt_mask"]}
  given_B = batch.get("given_lang")
  if given_B is not None:
    given_B = np.asarray(jax.device_get(given_B))
  tags = {}
  if given_B is not None and (given_B >= 0).any():
    tag_ids_N = np.array([tok.lang_tag_id(c) for c in languages.LANG_CODES],
                         np.int32)
    tags = {"forced_tag_B": np.where(given_B >= 0,
                                     tag_ids_N[np.maximum(given_B, 0)], -1),
            "tag_ids": tag_ids_N}
  if decoding == "beam":
    out = gloss_decode.beam_search(
        loaded.model, src, max_len=int(g.max_gloss_len),
        beam_size=int(g.beam_size), bos_id=tok.bos_id, eos_id=tok.eos_id,
        **tags)
  elif decoding == "greedy":
    out = gloss_decode.greedy_decode(
        loaded.model, src, max_len=int(g.max_gloss_len), bos_id=tok.bos_id,
        eos_id=tok.eos_id, **tags)
  else:
    raise GenerateError(f"generate.gloss_decoding must be greedy or beam, "
                        f"got {decoding!r}")
  return np.asarray(jax.device_get(out["tokens"]))


def generate_batch(loaded: LoadedWorkdir, batch, *, length_mode: str,
                   lang_gloss=None) -> dict[str, Any]:
  """Poses for one batch (source tokens as the model needs them).

  Args:
    loaded: the model.
    batch: text/text_mask/lang (MLSF) or prompt/prompt_mask (P2LG); plus
      pose/length for oracle timing.
    length_mode: "counter" or "oracle".
    lang_gloss: P2LG only: stage-1 rows already decoded (reused between the
      two timings); decoded here when None.

  Returns:
    {"frames": [B, T, 151] normalised frames (predicted counter last),
     "lengths": [B], "timing", "lang_gloss": [B, G] or None}, numpy.
  """
  if loaded.mode == "p2lg":
    if lang_gloss is None:
      lang_gloss = decode_lang_gloss(loaded, batch)
    arrays = {"lang_gloss": lang_gloss, "lang_gloss_mask": lang_gloss != 0,
              "lang": batch["lang"]}
  else:
    arrays = {k: batch[k] for k in ("text", "text_mask", "lang")}
  if length_mode == "oracle":
    arrays.update(pose=batch["pose"], length=batch["length"])
  g = loaded.cfg.generate
  out = pose_decode.generate_pose(
      loaded.model, arrays, max_len=int(g.max_frames),
      length_mode=length_mode,
      stop_threshold=float(g.counter_threshold),
      temperature=float(g.get("temperature", 0.0)),
      top_k=int(g.get("top_k", 0)), seed=int(g.get("seed", 0)))
  frames, lengths = jax.device_get((out["pose"], out["lengths"]))
  return {"frames": np.asarray(frames), "lengths": np.asarray(lengths),
          "timing": out["timing"], "lang_gloss": lang_gloss}


def frames_to_pose(frames_TxF: np.ndarray, stats: normalize.PoseStats
                   ) -> np.ndarray:
  """Normalised model frames -> internal pose [T, 50, 3] float32."""
  return np.asarray(normalize.from_frames(np.asarray(frames_TxF, np.float32),
                                          stats), np.float32)


def lang_of_gloss(text: str) -> str:
  """The most frequent language tag of a decoded LangGloss ("" if none)."""
  tags = collections.Counter(w for w in text.split()
                             if w in languages.BY_CODE)
  return tags.most_common(1)[0][0] if tags else ""


def _pad_rows(arrays: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
  """Repeats the last row up to n rows (padding never changes real rows)."""
  have = len(next(iter(arrays.values())))
  if have == n:
    return arrays
  return {k: np.concatenate([v, np.repeat(v[-1:], n - have, 0)])
          for k, v in arrays.items()}


def own_timing(loaded_or_cfg) -> str:
  """pose_decode.own_timing, its errors stated as GenerateError."""
  try:
    return pose_decode.own_timing(getattr(loaded_or_cfg, "cfg",
                                          loaded_or_cfg))
  except ValueError as e:
    raise GenerateError(str(e)) from None


def _check_length_head(cfg, length_mode: str) -> None:
  try:
    pose_decode.check_length_head(cfg, length_mode)
  except ValueError as e:
    raise GenerateError(str(e)) from None


def check_length_mode(length_mode: str) -> None:
  if length_mode == "oracle":
    raise GenerateError(
        "--length oracle needs each clip's ground-truth frame count, which "
        "only a dataset has: use `signllm evaluate` (it reports predicted "
        "and oracle timing side by side)")
  if length_mode not in ("counter", "length"):
    raise GenerateError(f"--length must be counter, length or oracle, got "
                        f"{length_mode!r}")


def generate(loaded: LoadedWorkdir, requests: Sequence[Request], *,
             length_mode: str = "counter", batch_size: int = 8,
             progress: bool = False) -> list[Generated]:
  """Poses for every request, in input order.

  Raises GenerateError for an invalid request (before any decoding) and for
  `length_mode="oracle"` (ground-truth lengths exist only in evaluation).
  """
  check_length_mode(length_mode)
  _check_length_head(loaded.cfg, length_mode)
  if not requests:
    raise GenerateError("nothing to generate (no input)")
  for r in requests:
    check_request(loaded, r)
  # MLSF: one language per compiled call; P2LG batches mix languages.
  groups: dict[str, list[int]] = collections.defaultdict(list)
  for i, r in enumerate(requests):
    groups[r.lang if loaded.mode != "p2lg" else ""].append(i)
  b = min(batch_size, len(requests))
  chunks = [idx[s:s + b] for idx in groups.values()
            for s in range(0, len(idx), b)]
  results: list[Generated | None] = [None] * len(requests)
  for chunk in tqdm.tqdm(chunks, desc="generate", disable=not progress):
    arrays, truncated = _source_rows(loaded, [requests[i] for i in chunk])
    out = generate_batch(loaded, _pad_rows(arrays, b),
                         length_mode=length_mode)
    for row, i in enumerate(chunk):
      req = requests[i]
      n = int(out["lengths"][row])
      frames = out["frames"][row, :n]
      gloss_text = None
      lang = req.lang or ""
      if out["lang_gloss"] is not None:
        gloss_text = loaded.tokenizer.decode(out["lang_gloss"][row])
        decoded_lang = lang_of_gloss(gloss_text)
        if req.lang and decoded_lang and decoded_lang != req.lang:
          log.warning("%s: --lang %s but the decoded LangGloss is tagged %s",
                      req.where, req.lang, decoded_lang)
        lang = decoded_lang or lang
      results[i] = Generated(
          id=f"{i:04d}_{lang or 'XX'}", source=req.source, lang=lang,
          pose_TxJx3=frames_to_pose(frames,
                                    loaded.stats_for(lang or None)),
          counter_T=frames[:, -1].copy(), timing=out["timing"],
          lang_gloss=gloss_text, truncated=truncated[row])
  return results  # type: ignore[return-value]


# --------------------------------------------------------------------------
# Inputs and outputs.


def read_input_file(path: str | pathlib.Path, *, mode: str,
                    default_lang: str | None) -> list[Request]:
  """One request per non-blank line; MLSF lines may be "LANG<TAB>text"."""
  path = pathlib.Path(path)
  try:
    lines = path.read_text(encoding="utf-8").splitlines()
  except FileNotFoundError:
    raise GenerateError(f"{path}: no such input file") from None
  except UnicodeDecodeError as e:
    raise GenerateError(f"{path}: not UTF-8 (byte {e.start})") from None
  reqs = []
  for n, line in enumerate(lines, 1):
    if not line.strip():
      continue  # blank lines separate nothing; skipping them loses nothing
    lang, text = default_lang, line
    if "\t" in line:
      head, _, rest = line.partition("\t")
      if head.strip() in languages.BY_CODE or mode != "p2lg":
        lang, text = head.strip(), rest
    reqs.append(Request(source=text.strip(), lang=lang,
                        where=f"{path} line {n}"))
  if not reqs:
    raise GenerateError(f"{path}: no input lines")
  return reqs


def _requests_from_args(args, mode: str) -> list[Request]:
  lang = args.lang.strip() or None
  text, prompt = getattr(args, "text", ""), getattr(args, "prompt", "")
  input_file = getattr(args, "input_file", "")
  if input_file:
    return read_input_file(input_file, mode=mode, default_lang=lang)
  if mode == "p2lg":
    if text and not prompt:
      raise GenerateError(
          "this is a Prompt2LangGloss model: pass --prompt (a question-style "
          "prompt), not --text")
    return [Request(source=prompt, lang=lang, where="--prompt")]
  if prompt and not text:
    raise GenerateError("this is an MLSF model: pass --text and --lang, not "
                        "--prompt")
  return [Request(source=text, lang=lang, where="--text")]


# --------------------------------------------------------------------------
# Model-free backends (signllm_jax/baselines/).


def workdir_dataset(workdir: str | pathlib.Path, overrides: Sequence[str] = ()
                    ) -> tuple[pathlib.Path, Any]:
  """(dataset folder, tokenizer) of a workdir: W/assets/dataset.json's path,
  else (or with a data.data_dir override) the dataset its config names."""
  workdir = pathlib.Path(workdir)
  try:
    cfg = workdir_lib.read_config(workdir, overrides)
    tokenizer, _ = workdir_lib.load_assets(workdir, cfg)
  except workdir_lib.WorkdirError as e:
    raise GenerateError(str(e)) from None
  info_file = workdir / workdir_lib.ASSETS / workdir_lib.DATASET
  info = (json.loads(info_file.read_text(encoding="utf-8"))
          if info_file.is_file() else {})
  recorded = pathlib.Path(info["path"]) if info.get("path") else None
  moved = any(o.startswith("data.data_dir=") for o in overrides)
  if recorded is not None and recorded.is_dir() and not moved:
    return recorded, tokenizer
  try:
    return datasets.dataset_dir(cfg.data.name, cfg.data.config,
                                cfg.data.data_dir or None), tokenizer
  except FileNotFoundError as e:
    raise GenerateError(
        f"{workdir}: the baseline backends read the train split of the "
        f"workdir's dataset ({recorded or cfg.data.name}), which is not "
        f"there: {e}; pass --config.data.data_dir=DIR if it moved") from None


def _stage1_glosses(workdir, requests: Sequence[Request], overrides
                    ) -> list[Request]:
  """Prompts -> gloss requests through the workdir's Prompt2LangGloss."""
  loaded = load_workdir(workdir, overrides)
  if loaded.mode != "p2lg":
    raise GenerateError(
        f"{workdir}: --prompt with --backend lexicon needs a Prompt2LangGloss "
        f"model (stage 1 writes the glosses); this one is {loaded.mode}: "
        "pass --text or --gloss")
  b = int(loaded.cfg.data.batch_size)
  out = []
  for s in range(0, len(requests), b):
    chunk = requests[s:s + b]
    arrays, _ = _source_rows(loaded, chunk)
    rows = decode_lang_gloss(loaded, _pad_rows(arrays, b))
    for r, row in zip(chunk, rows):
      text = loaded.tokenizer.decode(row)
      lang = lang_of_gloss(text) or r.lang
      print(f"{r.where}	LangGloss (stage 1): {text}")
      out.append(Request(source=text, lang=lang, where=r.where, kind="gloss"))
  return out


def generate_baseline(workdir: str | pathlib.Path,
                      requests: Sequence[Request], backend: str, *,
                      overrides: Sequence[str] = (),
                      progress: bool = False) -> list[Generated]:
  """Poses of the lexicon or retrieval baseline, in input order.

  Raises GenerateError for a request without a known language or with
  nothing known to the lexicon, and for a dataset it cannot fit on.
  """
  if backend not in BACKENDS[1:]:
    raise GenerateError(f"--backend must be one of {', '.join(BACKENDS)}, "
                        f"got {backend!r}")
  if not requests:
    raise GenerateError("nothing to generate (no input)")
  if any(r.kind == "prompt" for r in requests):
    if backend != "lexicon":
      raise GenerateError("--prompt needs the model or lexicon backend")
    requests = _stage1_glosses(workdir, requests, overrides)
  for r in requests:
    if not r.source.strip():
      raise GenerateError(f"{r.where}: empty {r.kind}")
    if not r.lang:
      raise GenerateError(f"{r.where}: no sign language given: pass --lang "
                          "or write 'LANG<TAB>text' lines")
    if r.lang not in languages.BY_CODE:
      raise GenerateError(f"{r.where}: unknown sign language {r.lang!r}; "
                          f"known: {', '.join(languages.LANG_CODES)}")
    if backend == "retrieval" and r.kind == "gloss":
      raise GenerateError(f"{r.where}: retrieval matches texts; pass --text")
  path, tokenizer = workdir_dataset(workdir, overrides)
  try:
    fitted = baselines_fit.fit(path, sorted({r.lang for r in requests}),
                               tokenizer, progress=progress)
  except (baselines_fit.FitError, ValueError) as e:
    raise GenerateError(str(e)) from None
  results = []
  for i, r in enumerate(requests):
    f = fitted[r.lang]
    gloss_text, skipped = None, ()
    if backend == "retrieval":
      pose = f.retrieval.predict(r.source)
    else:
      if f.lexicon is None:
        raise GenerateError(f"{path}: no lexicon to read {r.where} with: "
                            f"{f.lexicon_reason}")
      try:
        pose, rep = (f.lexicon.predict_glosses(r.source) if r.kind == "gloss"
                     else f.lexicon.predict_text(r.source))
      except lexicon_lib.UnknownInputError as e:
        raise GenerateError(f"{r.where}: {e}") from None
      gloss_text = prompts.make_lang_gloss(r.lang, rep.used)
      skipped = tuple(rep.skipped)
    n = len(pose)
    results.append(Generated(
        id=f"{i:04d}_{r.lang}", source=r.source, lang=r.lang,
        pose_TxJx3=np.asarray(pose, np.float32),
        counter_T=((np.arange(n) + 1) / n).astype(np.float32),
        timing=backend, lang_gloss=gloss_text, skipped=skipped))
  return results


def _baseline_requests(args) -> list[Request]:
  """--text / --gloss / --prompt / --input_file for the baseline backends;
  an input line that is a LangGloss is read as glosses."""
  lang = args.lang.strip() or None
  input_file = getattr(args, "input_file", "")
  if input_file:
    reqs = read_input_file(input_file, mode="mlsf", default_lang=lang)
    for r in reqs:
      try:
        prompts.parse_lang_gloss(r.source)
        r.kind = "gloss"
      except prompts.LangGlossError:
        pass
    return reqs
  for kind in ("gloss", "prompt", "text"):
    value = getattr(args, kind, "") or ""
    if value:
      return [Request(source=value, lang=lang, where=f"--{kind}", kind=kind)]
  return [Request(source="", lang=lang, where="--text")]


def generate_cli(args, overrides: Sequence[str] = ()) -> list[pathlib.Path]:
  """`signllm generate`; returns the written paths (GenerateError: bad use)."""
  backend = getattr(args, "backend", None) or "model"
  if backend not in BACKENDS:
    raise GenerateError(f"--backend must be one of {', '.join(BACKENDS)}, "
                        f"got {backend!r}")
  if backend == "model" and getattr(args, "gloss", ""):
    raise GenerateError("--gloss needs --backend lexicon (a model reads "
                        "--text or --prompt)")
  if backend != "model" and args.length:
    raise GenerateError(f"--length sets the model's timing; the {backend} "
                        "backend keeps its own")
  try:
    formats = writers.parse_formats(args.formats)
  except ValueError as e:
    raise GenerateError(str(e)) from None
  if args.convention not in skels.CONVENTIONS:
    raise GenerateError(f"--convention must be one of "
                        f"{', '.join(skels.CONVENTIONS)}")
  if backend != "model":
    requests = _baseline_requests(args)
    results = generate_baseline(args.workdir, requests, backend,
                                overrides=overrides,
                                progress=len(requests) > 1)
    for g in results:
      if g.lang_gloss is not None:
        print(f"{g.id}\tlexicon: {len(g.lang_gloss.split()) // 2} signs "
              f"({g.lang_gloss}); skipped {len(g.skipped)} unknown"
              + (f": {' '.join(g.skipped)}" if g.skipped else ""))
    return _write(results, args, formats, len(results) > 1)
  if args.length:
    check_length_mode(args.length)
  loaded = load_workdir(args.workdir, overrides)
  if loaded.mode == "backtranslate":
    raise GenerateError(f"{args.workdir}: a back-translation (pose -> text) "
                        "model, not a pose model; `signllm evaluate "
                        "--config.evaluate.backtranslation_workdir=...` uses "
                        "it")
  if loaded.mode == "pose_tokenizer":
    raise GenerateError(f"{args.workdir}: a pose tokenizer (poses -> "
                        "tokens -> poses), not a text -> pose model; "
                        "experiments/pose_tokenizer_report.py measures it")
  length_mode = args.length or own_timing(loaded)
  requests = _requests_from_args(args, loaded.mode)
  batch_mode = len(requests) > 1 or bool(getattr(args, "input_file", ""))
  results = generate(loaded, requests, length_mode=length_mode,
                     batch_size=int(loaded.cfg.data.batch_size),
                     progress=batch_mode)
  for g in results:
    if g.lang_gloss is not None:
      print(f"{g.id}\tLangGloss: {g.lang_gloss}")
    if g.truncated:
      print(f"{g.id}\twarning: input truncated to the model's max length")
  return _write(results, args, formats, batch_mode)


def _write(results, args, formats, progress: bool) -> list[pathlib.Path]:
  try:
    return writers.write_outputs(results, args.out, formats=formats,
                                 convention=args.convention,
                                 progress=progress)
  except ValueError as e:
    raise GenerateError(str(e)) from None
