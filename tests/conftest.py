"""Test set-up: 8 simulated CPU devices, set before jax is imported anywhere."""

import os
import pathlib

os.environ.setdefault("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in os.environ["XLA_FLAGS"]:
  os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=8"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_data_dir() -> pathlib.Path:
  """The shared real samples; tests using it are marked `real_data`."""
  path = pathlib.Path(os.environ.get(
      "SIGNLLM_SAMPLE_DATA", REPO_ROOT.parent / "shared" / "data"))
  if not path.is_dir():
    pytest.skip(f"real sample data not found at {path} "
                "(set SIGNLLM_SAMPLE_DATA)")
  return path
