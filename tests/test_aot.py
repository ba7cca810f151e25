"""Ahead-of-time compilation of the train step for a TPU topology (libtpu)."""

import pytest

from signllm_jax import aot
from signllm_jax import config as config_lib

needs_libtpu = pytest.mark.skipif(
    not aot.have_libtpu(),
    reason="libtpu is not installed (pip install 'jax[tpu]==0.10.2', the "
           "[tpu] extra); AOT compilation for TPU topologies needs it")


def test_hbm_table_by_topology_name():
  assert aot.hbm_bytes("v5e:4x4") == 16 * aot.GiB
  assert aot.hbm_bytes("v4:2x2x2") == 32 * aot.GiB
  assert aot.hbm_bytes("v5p:2x2x1") == 95 * aot.GiB
  assert aot.hbm_bytes("v6e:2x2") == 32 * aot.GiB
  assert aot.hbm_bytes("h100:8") is None


def test_missing_libtpu_is_a_clear_error(monkeypatch):
  monkeypatch.setattr(aot, "have_libtpu", lambda: False)
  with pytest.raises(aot.AotError, match=r"jax\[tpu\]"):
    aot.get_topology("v5e:2x2")


@needs_libtpu
def test_unknown_topology_is_a_clear_error():
  with pytest.raises(aot.AotError, match="v9z:1x1"):
    aot.get_topology("v9z:1x1")


@needs_libtpu
def test_mesh_must_match_device_count():
  cfg = config_lib.load_config("experiments/mlsf.py:smoke",
                               ["mesh.data=3", "mesh.fsdp=1"])
  with pytest.raises(aot.AotError, match="4 devices"):
    aot.topology_mesh(cfg.mesh, aot.get_topology("v5e:2x2"))


@needs_libtpu
def test_smoke_train_step_compiles_for_v5e_2x2_with_fsdp():
  # data=2 x fsdp=2: parameters sharded, batch over both axes.
  cfg = config_lib.load_config("experiments/mlsf.py:smoke",
                               ["mesh.data=2", "mesh.fsdp=-1"])
  r = aot.compile_for_topology(cfg, "v5e:2x2", batch=8, frames=32)
  assert r["devices"] == 4 and r["device_kind"] == "TPU v5 lite"
  assert r["mesh"] == {"data": 2, "fsdp": 2, "tensor": 1}
  mem = r["memory_per_device"]
  # The donated state is aliased; activations and gradients are temps.
  assert mem["argument"] > 0 and mem["temp"] > 0 and mem["alias"] > 0
  assert r["peak_bytes_per_device"] == (mem["argument"] + mem["output"]
                                        - mem["alias"] + mem["temp"])
  assert r["fits"] is True and r["hbm_bytes_per_device"] == 16 * aot.GiB
  assert r["flops_per_device"] > 1e6
  assert r["state_out_sharding_preserved"] is True
  assert r["compile_s"] > 0
