"""The back-translator (model mode "backtranslate"): shapes, masks,
causality, logical axes and cached greedy decoding."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from signllm_jax.data import tokenizer
from signllm_jax.model import backtranslator
from tests.model import helpers

_AXES = {"vocab", "embed", "mlp", "heads", "kv", "frame"}
EOS = tokenizer.EOS_ID


@pytest.fixture(scope="module")
def model():
  return helpers.build(mode="backtranslate")


@pytest.fixture(scope="module")
def batch():
  return helpers.make_batch(b=3, l=6, t=9)


def _logits(model, batch):
  return np.asarray(helpers.forward(model, batch)["text_logits"])


def test_shapes_and_module_layout(model, batch):
  assert isinstance(model, backtranslator.BackTranslator)
  assert model.bos_id == tokenizer.BOS_ID
  logits = _logits(model, batch)
  assert logits.shape == (3, 6, helpers.VOCAB)
  assert logits.dtype == np.float32 and np.isfinite(logits).all()
  assert len(model.encoder.layers) == 1 and len(model.decoder.layers) == 1


def test_every_param_has_logical_axis_names(model):
  params = [(p, v) for p, v in nnx.iter_graph(model)
            if isinstance(v, nnx.Param)]
  assert len(params) > 20
  for path, value in params:
    names = value.get_metadata()["out_sharding"]
    assert len(names) == value.ndim, path
    assert set(names) <= _AXES, (path, names)
  assert model.encoder.frame_in.kernel.get_metadata()["out_sharding"] == (
      "frame", "embed")


def test_padded_frames_and_missing_joints(model, batch):
  base = _logits(model, batch)
  pad_BxT = ~np.asarray(batch["pose_mask"])
  assert pad_BxT.any()
  noisy = dict(batch, pose=jnp.where(pad_BxT[..., None], 50.0,
                                     batch["pose"]))
  np.testing.assert_allclose(_logits(model, noisy), base, atol=1e-5)
  # A missing joint (NaN) reads as 0, not as NaN everywhere.
  zeroed = batch["pose"].at[0, 1, :6].set(0.0)
  missing = batch["pose"].at[0, 1, :6].set(jnp.nan)
  want = _logits(model, dict(batch, pose=zeroed))
  np.testing.assert_array_equal(_logits(model, dict(batch, pose=missing)),
                                want)
  assert not np.allclose(want[0], base[0])


def test_text_decoder_is_causal(model, batch):
  base = _logits(model, batch)
  k = 2
  changed = dict(batch, text=batch["text"].at[:, k].set(
      (batch["text"][:, k] + 5) % helpers.VOCAB))
  out = _logits(model, changed)
  # Position l reads text[l - 1]: positions <= k cannot see text[k].
  np.testing.assert_allclose(out[:, :k + 1], base[:, :k + 1], atol=1e-5)
  assert not np.allclose(out[:, k + 1], base[:, k + 1])


def test_decoder_inputs_are_bos_then_shifted_text():
  text = jnp.array([[5, 6, 3, 0], [7, 3, 0, 0]])
  np.testing.assert_array_equal(backtranslator.decoder_inputs(text, 2),
                                [[2, 5, 6, 3], [2, 7, 3, 0]])


def test_cached_greedy_equals_teacher_forced_argmax(model, batch):
  max_len = 7
  tokens = np.asarray(backtranslator.greedy_decode(
      model, batch["pose"], batch["pose_mask"], max_len=max_len,
      eos_id=EOS))
  assert tokens.shape == (3, max_len) and tokens.dtype == np.int32
  # Feed the decoded rows back (BOS + tokens) in one teacher-forced pass.
  dec_in = backtranslator.decoder_inputs(jnp.asarray(tokens), model.bos_id)
  logits = nnx.jit(lambda m, p, pm, d: m.logits(p, pm, d))(
      model, batch["pose"], batch["pose_mask"], dec_in)
  want = np.asarray(jnp.argmax(
      backtranslator.never_pad_or_bos(logits, model.bos_id), -1))
  for row, ref in zip(tokens, want):
    ends = np.flatnonzero(row == EOS)
    n = ends[0] + 1 if len(ends) else max_len
    np.testing.assert_array_equal(row[:n], ref[:n])
    assert (row[n:] == 0).all()
    assert not np.isin(row[:n], [0, model.bos_id]).any()
  # Enough distinct tokens that the comparison is not trivial.
  assert len(np.unique(tokens[tokens > 0])) >= 3


def test_greedy_stops_at_eos_and_pads(model, batch):
  # Make EOS the first choice everywhere: every row is [EOS, 0, ...].
  eos_model = nnx.clone(model)
  bias = eos_model.decoder.logits.bias
  bias[...] = bias[...].at[EOS].set(1e4)
  tokens = np.asarray(backtranslator.greedy_decode(
      eos_model, batch["pose"], batch["pose_mask"], max_len=4, eos_id=EOS))
  np.testing.assert_array_equal(tokens, [[EOS, 0, 0, 0]] * 3)
  with pytest.raises(ValueError, match="max_len"):
    backtranslator.greedy_decode(model, batch["pose"], batch["pose_mask"],
                                 max_len=0, eos_id=EOS)


def test_dropout_only_in_training():
  model = helpers.build(mode="backtranslate", dropout=0.3)
  batch = helpers.make_batch(b=2, l=5, t=6)
  eval_a = _logits(model, batch)
  np.testing.assert_array_equal(eval_a, _logits(model, batch))
  train_a = helpers.forward(model, batch, train=True)["text_logits"]
  train_b = helpers.forward(model, batch, train=True)["text_logits"]
  assert not np.allclose(train_a, train_b)
