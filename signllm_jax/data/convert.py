"""A folder of OpenPose clips -> a Prompt2Sign `.skels` split (steps 1-5).

`convert_openpose` reads every sub-folder of `in_dir` as one clip
(`openpose.read_openpose_clip`), lifts it to 3D (`lifting.lift_clip`) and
writes `{out_dir}/{split}.skels/.text/.files` in the Prompt2Sign convention
(`skels.write_split`). It returns a `ConvertReport`; nothing is dropped
without being listed in it. The CLI (`signllm data convert openpose`) calls
this function and prints `ConvertReport.format()`.

Sentences come from a line-aligned pair of files (`text_file`, and
`files_file` holding the clip ids, by default `text_file` with the suffix
`.files`), e.g. How2Sign's `how2sign_dev.text` / `how2sign_dev.files`. Lines
quoted CSV-style ("...", with "" for a quote) are unquoted. A clip without
a sentence gets "" and is listed in the report.
"""

import dataclasses
import os
import pathlib
import time

import tqdm

from signllm_jax.data import errors
from signllm_jax.data import lifting
from signllm_jax.data import openpose
from signllm_jax.data import skels


@dataclasses.dataclass
class ClipReport:
  """What happened to one clip."""
  id: str
  frames_in: int  # JSON files read
  frames_out: int  # frames written
  dropped: tuple[tuple[str, str], ...]  # (frame, reason) not written
  multi_person: int  # frames with several people (people[0] used)
  pruned: int  # frames kept but re-filled by interpolation
  has_text: bool
  reprojection_error: float  # normalised 2D units
  reprojection_error_px: float
  bone_length_cv_max: float
  bone_2d_over_3d_median: float
  unobserved_joints: int  # joints never detected (NaN in the output)
  seconds: float  # reading + lifting (includes compiling a new bucket)


@dataclasses.dataclass
class ConvertReport:
  """The outcome of `convert_openpose`."""
  split: str
  clips: list[ClipReport]
  skipped: list[tuple[str, str]]  # (clip id, reason) not written at all
  missing_text: list[str]
  written: dict[str, pathlib.Path]
  seconds: float

  @property
  def frames_in(self) -> int:
    return sum(c.frames_in for c in self.clips)

  @property
  def frames_out(self) -> int:
    return sum(c.frames_out for c in self.clips)

  def format(self) -> str:
    """A human-readable multi-line summary."""
    lines = [f"{self.split}: {len(self.clips)} clips written, "
             f"{len(self.skipped)} skipped, {self.frames_in} frames read, "
             f"{self.frames_out} written, {self.seconds:.1f} s"]
    for c in self.clips:
      lines.append(
          f"  {c.id}: {c.frames_in} -> {c.frames_out} frames "
          f"({len(c.dropped)} dropped, {c.pruned} pruned+interpolated, "
          f"{c.multi_person} multi-person), reprojection "
          f"{c.reprojection_error:.4f} ({c.reprojection_error_px:.1f} px), "
          f"bone CV {c.bone_length_cv_max:.1e}, 2D/3D "
          f"{c.bone_2d_over_3d_median:.2f}, {c.unobserved_joints} joints "
          f"never seen, {c.seconds:.2f} s"
          + ("" if c.has_text else ", NO TEXT"))
      lines.extend(f"    dropped {frame}: {reason}"
                   for frame, reason in c.dropped)
    lines.extend(f"  skipped {clip}: {reason}" for clip, reason in
                 self.skipped)
    if self.missing_text:
      lines.append(f"  {len(self.missing_text)} clips without text: "
                   + ", ".join(self.missing_text))
    for ext, path in sorted(self.written.items()):
      lines.append(f"  wrote {path}")
    return "\n".join(lines)


def _unquote(line: str) -> str:
  if len(line) >= 2 and line[0] == line[-1] == '"':
    return line[1:-1].replace('""', '"')
  return line


def read_texts(text_file: str | os.PathLike,
               files_file: str | os.PathLike | None = None
               ) -> dict[str, str]:
  """Clip id -> sentence from two line-aligned files."""
  text_file = pathlib.Path(text_file)
  files_file = (text_file.with_suffix(".files") if files_file is None
                else pathlib.Path(files_file))
  if not files_file.is_file():
    raise FileNotFoundError(
        f"{files_file}: no clip-id file for {text_file} (pass files_file)")
  texts = text_file.read_text(encoding="utf-8").splitlines()
  ids = files_file.read_text(encoding="utf-8").splitlines()
  if len(texts) != len(ids):
    raise errors.FormatError(
        f"{len(texts)} lines but {files_file} has {len(ids)}", path=text_file)
  out = {}
  for n, (clip_id, text) in enumerate(zip(ids, texts), 1):
    clip_id = clip_id.strip()
    if clip_id in out:
      raise errors.FormatError(f"clip id {clip_id!r} repeated", path=files_file,
                               line=n)
    out[clip_id] = _unquote(text.strip())
  return out


def convert_openpose(in_dir: str | os.PathLike, out_dir: str | os.PathLike,
                     *, split: str = "dev",
                     text_file: str | os.PathLike | None = None,
                     files_file: str | os.PathLike | None = None,
                     steps: int = 1000, progress: bool = True,
                     config: lifting.LiftConfig | None = None,
                     on_error: str = "raise") -> ConvertReport:
  """Converts every clip folder under `in_dir` into one `.skels` split.

  Args:
    in_dir: a folder with one sub-folder of OpenPose JSON per clip (the
      sub-folder name is the clip id).
    out_dir: where `{split}.skels/.text/.files` are written.
    split: the split name.
    text_file: optional sentences, line-aligned with `files_file`.
    files_file: clip ids for `text_file` (default: its `.files` sibling).
    steps: gradient-descent steps (overrides `config.steps`).
    progress: show a tqdm bar over clips.
    config: lifting settings (default: the authors').
    on_error: "raise" (default) stops at the first malformed clip; "skip"
      lists it in `ConvertReport.skipped` and goes on.

  Returns:
    The report; clips with no frame left are skipped and listed.
  """
  if on_error not in ("raise", "skip"):
    raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
  start = time.perf_counter()
  in_dir = pathlib.Path(in_dir)
  if not in_dir.is_dir():
    raise FileNotFoundError(f"{in_dir}: no such folder")
  clip_dirs = sorted(p for p in in_dir.iterdir() if p.is_dir())
  if not clip_dirs:
    raise errors.FormatError(
        "no clip sub-folders (expected one folder of OpenPose JSON per clip)",
        path=in_dir)
  texts = {} if text_file is None else read_texts(text_file, files_file)
  config = dataclasses.replace(config or lifting.LiftConfig(), steps=steps)
  records, clips, skipped, missing_text = [], [], [], []
  bar = tqdm.tqdm(clip_dirs, desc=f"lifting {split}", unit="clip",
                  disable=not progress)
  for clip_dir in bar:
    clip_id = clip_dir.name
    bar.set_postfix_str(clip_id, refresh=False)
    t0 = time.perf_counter()
    try:
      clip = openpose.read_openpose_clip(clip_dir)
    except errors.FormatError as e:
      if on_error == "raise":
        raise
      skipped.append((clip_id, str(e)))
      continue
    if clip.num_frames == 0:
      skipped.append((clip_id, f"all {len(clip.dropped)} frames dropped"))
      continue
    lifted = lifting.lift_clip(clip.xyc_TxJx3, config)
    summary = lifted.summary()
    has_text = clip_id in texts
    if not has_text:
      missing_text.append(clip_id)
    records.append(skels.Record(id=clip_id, text=texts.get(clip_id, ""),
                                pose=lifted.pose_TxJx3))
    clips.append(ClipReport(
        id=clip_id,
        frames_in=clip.num_files,
        frames_out=lifted.pose_TxJx3.shape[0],
        dropped=clip.dropped,
        multi_person=len(clip.multi_person),
        pruned=summary["pruned_frames"],
        has_text=has_text,
        reprojection_error=summary["reprojection_error"],
        reprojection_error_px=summary["reprojection_error_px"],
        bone_length_cv_max=summary["bone_length_cv_max"],
        bone_2d_over_3d_median=summary["bone_2d_over_3d_median"],
        unobserved_joints=summary["unobserved_joints"],
        seconds=time.perf_counter() - t0))
  written = {}
  if records:
    written = skels.write_split(out_dir, split, records,
                                convention="prompt2sign")
  return ConvertReport(split=split, clips=clips, skipped=skipped,
                       missing_text=missing_text, written=written,
                       seconds=time.perf_counter() - start)
