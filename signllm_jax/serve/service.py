"""The generation service behind `signllm serve` (no web framework here).

`GenerationService(workdir)` loads the workdir once (the model, tokenizer,
statistics: generate.pipeline.load_workdir), fits the baselines and indexes
the test split (references.py), then generates one short request so the
decode loop is compiled before the first user waits for it. Every model
call then reuses that program: requests are decoded one at a time (batch
1: one shape, one compile).

Requests run under one lock, so concurrent requests never interleave model
state or the dataset readers; at most `max_queue` requests wait for it and
any more are refused as busy (HTTP 503) rather than queued without bound.
Results are kept (the newest `max_results`) so their files can be
downloaded; files are written on first download into a temporary folder
removed by `close()`.

Input checks (RequestError, HTTP 4xx with the message): empty text, the
wrong field for the model's mode, an unknown or untrained language, text
longer than the model's token limit (data.max_text_len / max_prompt_len,
end-of-sentence included: generate truncates such text, the server refuses
it so what is shown is what was asked), unknown backend, unknown download.
"""

import collections
import dataclasses
import logging
import math
import pathlib
import re
import shutil
import tempfile
import threading
import time
import uuid
from typing import Any

import numpy as np

from signllm_jax import languages
from signllm_jax import skeleton
from signllm_jax.generate import pipeline as gen
from signllm_jax.generate import writers
from signllm_jax.serve import references as references_lib

log = logging.getLogger(__name__)

DOWNLOAD_FORMATS = ("pose", "skels", "mp4")
MAX_CHARS = 2000  # refused before tokenising (the token limit is the rule)
_ID = re.compile(r"^[0-9a-f]{12}$")


class ServeError(ValueError):
  """The server cannot start (stated for the user; exit code 2)."""


class RequestError(ValueError):
  """A bad request: its message is shown to the user, never a traceback."""

  def __init__(self, message: str, status: int = 400):
    super().__init__(message)
    self.status = status


@dataclasses.dataclass
class _Result:
  systems: dict[str, gen.Generated]  # "model", "retrieval", ... -> sequence
  files: dict[tuple[str, str], pathlib.Path]


def frames_json(pose_TxJx3: np.ndarray) -> list:
  """[T][50][3] nested lists, 4 decimals, missing joints as null."""
  pose = np.round(np.asarray(pose_TxJx3, np.float64), 4)
  rows = pose.tolist()
  if np.isfinite(pose).all():
    return rows
  return [[[None if math.isnan(v) else v for v in joint] for joint in frame]
          for frame in rows]


def _joint_group(j: int) -> str:
  if skeleton.LEFT_HAND.start <= j < skeleton.LEFT_HAND.stop:
    return "left"
  if skeleton.RIGHT_HAND.start <= j < skeleton.RIGHT_HAND.stop:
    return "right"
  return "body"


class GenerationService:
  """One loaded workdir serving generation requests (module docstring)."""

  def __init__(self, workdir, *, overrides=(), warmup: bool = True,
               progress: bool = True, max_queue: int = 8,
               max_results: int = 64,
               baseline_examples: int = references_lib.TRAIN_EXAMPLES):
    try:
      self.loaded = gen.load_workdir(workdir, overrides)
    except gen.GenerateError as e:
      raise ServeError(str(e)) from None
    if self.loaded.mode not in ("mlsf", "p2lg"):
      raise ServeError(f"{workdir}: a {self.loaded.mode} model; serve needs "
                       "a pose model (model.mode mlsf or p2lg)")
    try:
      self.length_mode = gen.own_timing(self.loaded)
    except gen.GenerateError as e:
      raise ServeError(str(e)) from None
    d = self.loaded.cfg.data
    self.p2lg = self.loaded.mode == "p2lg"
    self.input_key = "prompt" if self.p2lg else "text"
    self.max_tokens = int(d.max_prompt_len if self.p2lg else d.max_text_len)
    self.max_queue = max_queue
    self.max_results = max_results
    self.refs = references_lib.load_references(
        self.loaded, per_lang=baseline_examples, progress=progress)
    for note in self.refs.notes:
      log.warning("%s", note)
    self._lock = threading.Lock()  # the model and the dataset readers
    self._state_lock = threading.Lock()  # queue count and results
    self._files_lock = threading.Lock()
    self._waiting = 0
    self._results: collections.OrderedDict[str, _Result] = (
        collections.OrderedDict())
    self._dir = pathlib.Path(tempfile.mkdtemp(prefix="signllm-serve-"))
    self.warmup_s = self._warm_up() if warmup else None

  # ------------------------------------------------------------------
  # Start-up and description.

  def _warm_up(self) -> float:
    """Compiles the decode loop with one short request; its seconds."""
    lang = self.loaded.langs[0]
    source = "How would I sign 'hello'?" if self.p2lg else "hello"
    t0 = time.perf_counter()
    gen.generate(self.loaded, [gen.Request(source, lang, "warm-up")],
                 length_mode=self.length_mode, batch_size=1)
    seconds = time.perf_counter() - t0
    log.info("compiled and ran one warm-up request in %.1f s", seconds)
    return seconds

  @property
  def backends(self) -> list[str]:
    return ["model"] + [b.name for b in self.refs.baselines]

  def info(self) -> dict[str, Any]:
    """GET /info: what the page needs to build itself."""
    g = self.loaded.cfg.generate
    return {
        "model": self.loaded.name,
        "workdir": str(self.loaded.workdir),
        "mode": self.loaded.mode,
        "input": self.input_key,
        "langs": [{"code": c, "name": languages.BY_CODE[c].name,
                   "spoken": languages.BY_CODE[c].spoken_name}
                  for c in self.loaded.langs],
        "lang_required": not self.p2lg,
        "backends": self.backends,
        "baselines": [{"name": b.name, "label": b.label}
                      for b in self.refs.baselines],
        "ground_truth": self.refs.ground_truth is not None,
        "examples": self.refs.examples,
        "notes": self.refs.notes,
        "timing": self.length_mode,
        "fps": writers.FPS,
        "limits": {"max_tokens": self.max_tokens, "max_chars": MAX_CHARS,
                   "max_frames": int(g.max_frames),
                   "max_queue": self.max_queue},
        "downloads": list(DOWNLOAD_FORMATS),
        "warmup_s": self.warmup_s,
        "skeleton": {"joints": skeleton.NUM_JOINTS,
                     "bones": [list(b) for b in skeleton.BONES],
                     "groups": [_joint_group(j)
                                for j in range(skeleton.NUM_JOINTS)],
                     "names": list(skeleton.JOINT_NAMES)},
    }

  # ------------------------------------------------------------------
  # Requests.

  def check(self, body: dict[str, Any]) -> gen.Request:
    """The validated request, or RequestError naming what is wrong."""
    other = "text" if self.p2lg else "prompt"
    source = body.get(self.input_key)
    if source is None and body.get(other):
      kind = "a Prompt2LangGloss" if self.p2lg else "an MLSF"
      raise RequestError(f"this is {kind} model: send {self.input_key!r}, "
                         f"not {other!r}")
    source = (source or "").strip()
    what = "prompt" if self.p2lg else "text"
    if not source:
      hint = "a question-style prompt" if self.p2lg else "a sentence"
      raise RequestError(f"empty {what}: type {hint}")
    if len(source) > MAX_CHARS:
      raise RequestError(f"the {what} has {len(source)} characters; at most "
                         f"{MAX_CHARS} are accepted", status=413)
    n = len(self.loaded.tokenizer.encode(source)) + 1  # + end-of-sentence
    if n > self.max_tokens:
      raise RequestError(
          f"the {what} is {n} tokens long (end-of-sentence included); this "
          f"model takes at most {self.max_tokens} "
          f"(data.max_{what}_len): shorten it", status=413)
    lang = (body.get("lang") or "").strip() or None
    known = ", ".join(self.loaded.langs)
    if lang is None and not self.p2lg:
      raise RequestError(f"choose a sign language (one of {known})")
    if lang is not None and lang not in languages.BY_CODE:
      raise RequestError(f"unknown sign language {lang!r}; this model "
                         f"knows {known}")
    if lang is not None and lang not in self.loaded.langs:
      raise RequestError(f"this model was not trained on {lang}; it knows "
                         f"{known}")
    req = gen.Request(source=source, lang=lang, where=f"the {what}")
    try:  # the generator's own checks, should they grow
      gen.check_request(self.loaded, req)
    except gen.GenerateError as e:
      raise RequestError(str(e)) from None
    backend = (body.get("backend") or "model").strip()
    if backend not in self.backends:
      raise RequestError(f"unknown backend {backend!r}; this server has "
                         f"{', '.join(self.backends)}")
    return req

  def _enter(self) -> None:
    with self._state_lock:
      if self._waiting >= self.max_queue:
        raise RequestError(f"busy: {self._waiting} requests are waiting; "
                           "try again shortly", status=503)
      self._waiting += 1

  def _leave(self) -> None:
    with self._state_lock:
      self._waiting -= 1

  def generate(self, body: dict[str, Any]) -> dict[str, Any]:
    """POST /generate: the chosen backend's poses, the others beside them."""
    t0 = time.perf_counter()
    req = self.check(body)
    backend = (body.get("backend") or "model").strip()
    self._enter()
    try:
      with self._lock:
        t1 = time.perf_counter()
        model = gen.generate(self.loaded, [req], length_mode=self.length_mode,
                             batch_size=1)[0]
        t2 = time.perf_counter()
        lang = model.lang or (req.lang or "")
        others, skipped = [], []
        for b in self.refs.baselines:
          try:
            others.append(b.predict(req.source, lang, model.lang_gloss))
          except references_lib.Unavailable as e:
            skipped.append({"name": b.name, "label": b.label,
                            "reason": str(e)})
        gt = (self.refs.ground_truth.lookup(req.source, lang)
              if self.refs.ground_truth else None)
    finally:
      self._leave()
    if backend != "model" and backend not in [o.name for o in others]:
      reason = next(s["reason"] for s in skipped if s["name"] == backend)
      raise RequestError(f"the {backend} backend has nothing for this "
                         f"input: {reason}")
    t3 = time.perf_counter()
    rid = uuid.uuid4().hex[:12]
    systems = {"model": model}
    for p in others + ([gt] if gt else []):
      n = len(p.pose_TxJx3)
      systems[p.name] = gen.Generated(
          id=f"{rid}_{p.name}", source=req.source, lang=lang,
          pose_TxJx3=p.pose_TxJx3,
          counter_T=((np.arange(n) + 1) / n).astype(np.float32),
          timing=p.name, lang_gloss=p.lang_gloss)
    model.id = f"{rid}_model"
    self._remember(rid, systems)

    def panel(name, label, pose, note):
      return {"name": name, "label": label, "frames": frames_json(pose),
              "length": int(len(pose)), "note": note,
              "downloads": {f: f"/download/{rid}.{f}?system={name}"
                            for f in DOWNLOAD_FORMATS}}

    model_note = f"{model.timing} timing"
    panels = [panel("model", self.loaded.name, model.pose_TxJx3, model_note)]
    panels += [panel(o.name, o.label, o.pose_TxJx3, o.note)
               for o in others]
    main = next(p for p in panels if p["name"] == backend)
    truth = (panel(gt.name, gt.label, gt.pose_TxJx3, gt.note) if gt
             else None)
    lengths = {p["name"]: p["length"] for p in panels + [truth] if p}
    return {
        "id": rid, "mode": self.loaded.mode, "backend": backend,
        self.input_key: req.source, "lang": lang,
        "lang_gloss": model.lang_gloss, "truncated": model.truncated,
        "fps": writers.FPS, **main, "lengths": lengths,
        "timing": {"mode": model.timing, "queue_s": round(t1 - t0, 4),
                   "generate_s": round(t2 - t1, 4),
                   "total_s": round(t3 - t0, 4)},
        "others": [p for p in panels if p is not main],
        "skipped": skipped,
        "ground_truth": truth,
    }

  def _remember(self, rid: str, systems: dict[str, gen.Generated]) -> None:
    with self._state_lock:
      self._results[rid] = _Result(systems, {})
      while len(self._results) > self.max_results:
        old, _ = self._results.popitem(last=False)
        shutil.rmtree(self._dir / old, ignore_errors=True)

  # ------------------------------------------------------------------
  # Files.

  def download(self, filename: str, system: str = "model") -> pathlib.Path:
    """GET /download/{id}.{fmt}: the file, written on first request."""
    rid, _, fmt = filename.partition(".")
    if fmt not in DOWNLOAD_FORMATS:
      raise RequestError(f"unknown format {fmt!r}; choose "
                         f"{', '.join(DOWNLOAD_FORMATS)}", status=404)
    with self._state_lock:
      result = self._results.get(rid) if _ID.match(rid) else None
    if result is None:
      raise RequestError(f"no result {rid!r} (results are kept for the "
                         f"newest {self.max_results} requests)", status=404)
    g = result.systems.get(system)
    if g is None:
      raise RequestError(f"result {rid} has no system {system!r}; it has "
                         f"{', '.join(result.systems)}", status=404)
    with self._files_lock:
      path = result.files.get((system, fmt))
      if path is None or not path.exists():
        out = self._dir / rid / system / f"{g.id}.{fmt}"
        written = writers.write_outputs([g], out, formats=(fmt,),
                                        fps=writers.FPS)
        path = next(p for p in written if p.suffix == f".{fmt}")
        result.files[(system, fmt)] = path
    return path

  def close(self) -> None:
    shutil.rmtree(self._dir, ignore_errors=True)
