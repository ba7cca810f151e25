"""Generated poses -> files: .skels/.text/.files (+ .gloss), .npz, .pose,
.gif, .mp4.

`write_outputs(results, out)`: `out` with a known extension (`a.pose`,
`a.skels`, `a.npz`, `a.gif`, `a.mp4`) writes that one file (one sequence,
or for .skels/.npz all of them); any other path is a folder that receives
every requested format.
"""

import pathlib
from typing import Any, Sequence

import numpy as np
import tqdm

from signllm_jax import render
from signllm_jax.data import pose_io
from signllm_jax.data import skels

FORMATS = ("skels", "pose", "npz", "gif", "mp4")
FPS = 25.0
SPLIT_NAME = "generated"  # {out}/generated.skels, .text, .files, .npz


def parse_formats(spec: str) -> tuple[str, ...]:
  fmts = tuple(f.strip().lower() for f in spec.split(",") if f.strip())
  bad = [f for f in fmts if f not in FORMATS]
  if bad or not fmts:
    raise ValueError(f"--formats: unknown {', '.join(bad) or '(empty)'}; "
                     f"choose from {', '.join(FORMATS)}")
  return fmts


def _records(results: Sequence[Any], convention: str
             ) -> list[skels.Record]:
  recs = []
  for g in results:
    pose = g.pose_TxJx3
    if convention == "pt":
      pose = skels.neck_centre(pose)
    recs.append(skels.Record(id=g.id, text=g.source, pose=pose,
                             gloss=g.lang_gloss))
  return recs


def write_npz(path: pathlib.Path, results: Sequence[Any]) -> None:
  """pose [N, T, 50, 3] (zero after each length), lengths, text, lang..."""
  t = max(len(g.pose_TxJx3) for g in results)
  pose = np.zeros((len(results), t, 50, 3), np.float32)
  counter = np.zeros((len(results), t), np.float32)
  for i, g in enumerate(results):
    pose[i, :len(g.pose_TxJx3)] = g.pose_TxJx3
    counter[i, :len(g.counter_T)] = g.counter_T
  np.savez(path, pose=pose, counter=counter,
           lengths=np.array([len(g.pose_TxJx3) for g in results], np.int32),
           text=np.array([g.source for g in results]),
           lang=np.array([g.lang for g in results]),
           id=np.array([g.id for g in results]),
           lang_gloss=np.array([g.lang_gloss or "" for g in results]),
           timing=np.array(results[0].timing))


def _title(g) -> str:
  return f"{g.lang}: {g.source}"[:48]


def write_file(results: Sequence[Any], path: pathlib.Path, *,
               convention: str, fps: float, size: tuple[int, int]
               ) -> list[pathlib.Path]:
  """One file named by the user: its extension is the format."""
  fmt = path.suffix.lower().lstrip(".")
  if path.is_dir():
    raise ValueError(f"{path} is a folder; name a new file, or pass the "
                     "folder without the extension")
  path.parent.mkdir(parents=True, exist_ok=True)
  if fmt == "skels":
    paths = skels.write_split(path.parent, path.stem,
                              _records(results, convention),
                              convention=convention)
    return [paths[k] for k in sorted(paths)]
  if fmt == "npz":
    write_npz(path, results)
    return [path]
  if len(results) != 1:
    raise ValueError(f"{path}: one .{fmt} file holds one sequence, got "
                     f"{len(results)}; pass a folder for several")
  g = results[0]
  if fmt == "pose":
    return [pose_io.write_pose(path, g.pose_TxJx3, fps)]
  return [render.render(g.pose_TxJx3, path, fps=fps, size=size,
                        title=_title(g))]


def write_outputs(results: Sequence[Any], out_dir: str | pathlib.Path,
                  *, formats: Sequence[str], convention: str = "prompt2sign",
                  fps: float = FPS, size: tuple[int, int] = (320, 320),
                  progress: bool = False) -> list[pathlib.Path]:
  """Writes the requested formats under out_dir, or the one file out_dir
  names by its extension (module docstring); returns the paths."""
  out = pathlib.Path(out_dir)
  if out.suffix.lower().lstrip(".") in FORMATS:
    return write_file(results, out, convention=convention, fps=fps,
                      size=size)
  out.mkdir(parents=True, exist_ok=True)
  written: list[pathlib.Path] = []
  if "skels" in formats:
    paths = skels.write_split(out, SPLIT_NAME, _records(results, convention),
                              convention=convention)
    written += [paths[k] for k in sorted(paths)]
  if "npz" in formats:
    path = out / f"{SPLIT_NAME}.npz"
    write_npz(path, results)
    written.append(path)
  per_item = [f for f in ("pose", "gif", "mp4") if f in formats]
  for g in tqdm.tqdm(results if per_item else [], desc="write",
                     disable=not progress):
    if "pose" in formats:
      written.append(pose_io.write_pose(out / f"{g.id}.pose", g.pose_TxJx3,
                                        fps))
    for fmt in ("gif", "mp4"):
      if fmt in formats:
        written.append(render.render(g.pose_TxJx3, out / f"{g.id}.{fmt}",
                                     fps=fps, size=size, title=_title(g)))
  return written


