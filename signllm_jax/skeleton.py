"""The Prompt2Sign v1 skeleton: 50 joints, 49 bones, 151-d frames.

Joint order (PAPER.md): OpenPose BODY_25 joints 0-7, then 21 left-hand points,
then 21 right-hand points, each hand in OpenPose hand order (wrist, thumb 1-4,
index 1-4, middle 1-4, ring 1-4, pinky 1-4).
"""

import numpy as np

NUM_BODY = 8
NUM_HAND = 21
NUM_JOINTS = NUM_BODY + 2 * NUM_HAND  # 50
NUM_COORDS = 3
POSE_DIM = NUM_JOINTS * NUM_COORDS  # 150
FRAME_DIM = POSE_DIM + 1  # 151: joints then the progress counter

LEFT_HAND = slice(NUM_BODY, NUM_BODY + NUM_HAND)  # joints 8..28
RIGHT_HAND = slice(NUM_BODY + NUM_HAND, NUM_JOINTS)  # joints 29..49
LEFT_HAND_ROOT = NUM_BODY  # 8
RIGHT_HAND_ROOT = NUM_BODY + NUM_HAND  # 29

NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = range(8)

BODY_NAMES = (
    "NOSE", "NECK", "RIGHT_SHOULDER", "RIGHT_ELBOW", "RIGHT_WRIST",
    "LEFT_SHOULDER", "LEFT_ELBOW", "LEFT_WRIST",
)
HAND_POINT_NAMES = (
    "WRIST",
    "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP",
    "INDEX_FINGER_MCP", "INDEX_FINGER_PIP", "INDEX_FINGER_DIP",
    "INDEX_FINGER_TIP",
    "MIDDLE_FINGER_MCP", "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP",
    "MIDDLE_FINGER_TIP",
    "RING_FINGER_MCP", "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP",
    "PINKY_MCP", "PINKY_PIP", "PINKY_DIP", "PINKY_TIP",
)
JOINT_NAMES = (
    BODY_NAMES
    + tuple(f"LEFT_HAND_{n}" for n in HAND_POINT_NAMES)
    + tuple(f"RIGHT_HAND_{n}" for n in HAND_POINT_NAMES)
)

# Parent -> child pairs inside one hand, in hand-local indices.
HAND_BONES = tuple(
    (0 if k == 0 else base + k, base + k + 1)
    for base in (0, 4, 8, 12, 16)
    for k in range(4)
)
BODY_BONES = ((NOSE, NECK), (NECK, R_SHOULDER), (R_SHOULDER, R_ELBOW),
              (R_ELBOW, R_WRIST), (NECK, L_SHOULDER), (L_SHOULDER, L_ELBOW),
              (L_ELBOW, L_WRIST))
# 49 bones (parent, child); the hand roots attach to the body wrists.
BONES = (
    BODY_BONES
    + ((L_WRIST, LEFT_HAND_ROOT),)
    + tuple((LEFT_HAND_ROOT + a, LEFT_HAND_ROOT + b) for a, b in HAND_BONES)
    + ((R_WRIST, RIGHT_HAND_ROOT),)
    + tuple((RIGHT_HAND_ROOT + a, RIGHT_HAND_ROOT + b) for a, b in HAND_BONES)
)
assert len(BONES) == NUM_JOINTS - 1


def _bone_class(parent: int, child: int) -> str:
  """Left and right limbs share a class (the lifting shares their lengths)."""
  def side_free(j: int) -> str:
    name = JOINT_NAMES[j]
    for side in ("LEFT_", "RIGHT_"):
      name = name.replace(side, "")
    return name
  return f"{side_free(parent)}->{side_free(child)}"


BONE_CLASSES = tuple(sorted({_bone_class(p, c) for p, c in BONES}))
BONE_CLASS_OF_BONE = tuple(BONE_CLASSES.index(_bone_class(p, c))
                           for p, c in BONES)


def check_pose(pose, where: str) -> np.ndarray:
  """A float32 [T, 50, 3] array with T > 0, or a ValueError naming `where`."""
  pose = np.asarray(pose, np.float32)
  if pose.ndim != 3 or pose.shape[1:] != (NUM_JOINTS, 3):
    raise ValueError(f"{where}: pose must be [T, {NUM_JOINTS}, 3], "
                     f"got {pose.shape}")
  if pose.shape[0] == 0:
    raise ValueError(f"{where}: pose has no frames")
  return pose
