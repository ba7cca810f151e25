"""Tests for signllm_jax.evaluate.backtranslation (tiny model, CPU)."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from signllm_jax.evaluate import backtranslation as bt

T = 8
TEXT = np.array([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0], [8, 9, 10, 11, 0],
                 [5, 3, 0, 0, 0]], np.int32)


def _cfg():
  cfg = bt.default_config()
  cfg.update(num_layers=1, width=32, heads=2, mlp=64, dropout=0.0,
             max_frames=T, max_text_len=6, vocab_size=12, lr=3e-3)
  return cfg


def _batch():
  rng = np.random.default_rng(0)
  pose = np.repeat(rng.normal(size=(4, 1, 151)), T, 1).astype(np.float32)
  pose_mask = np.ones((4, T), bool)
  pose_mask[1, 6:] = False
  pose[1, 6:] = 99.0  # padding must not matter
  return {"pose": pose, "pose_mask": pose_mask, "text": TEXT,
          "text_mask": TEXT > 0, "lang": np.zeros(4, np.int32)}


@pytest.fixture(scope="module")
def trained():
  batch = _batch()

  def batches():
    while True:
      yield batch

  model, history = bt.train_backtranslator(batches(), _cfg(), steps=150,
                                           progress=False)
  return model, history


def test_make_targets():
  dec_in, target, mask = bt.make_targets(
      jnp.asarray(TEXT[:2]), jnp.asarray(TEXT[:2] > 0), bos_id=1, eos_id=2,
      append_eos=True)
  np.testing.assert_array_equal(dec_in, [[1, 3, 4, 5, 0, 0],
                                         [1, 6, 7, 0, 0, 0]])
  np.testing.assert_array_equal(target, [[3, 4, 5, 2, 0, 0],
                                         [6, 7, 2, 0, 0, 0]])
  np.testing.assert_array_equal(mask.sum(1), [4, 3])


def test_loss_ignores_padding():
  model = bt.BackTranslator(_cfg(), rngs=nnx.Rngs(0))
  batch = {k: jnp.asarray(v) for k, v in _batch().items()}
  loss_fn = nnx.jit(bt.loss_fn, static_argnames="train")
  loss, metrics = loss_fn(model, batch, train=False)
  noisy = dict(batch, text=jnp.where(batch["text_mask"], batch["text"], 7),
               pose=batch["pose"].at[1, 6:].set(-5.0))
  loss2, _ = loss_fn(model, noisy, train=False)
  np.testing.assert_allclose(loss, loss2, rtol=1e-5)
  assert np.log(12) / 3 < float(loss) < 3 * np.log(12)  # untrained ~ log V
  assert 0 <= float(metrics["token_accuracy"]) <= 1


def test_overfits_toy_set_to_exact_decode(trained):
  model, history = trained
  assert history[-1]["loss"] < 0.05 < history[0]["loss"]
  batch = _batch()
  ids = np.asarray(bt.greedy_decode(model, batch["pose"], batch["pose_mask"],
                                    max_len=6, bos_id=1, eos_id=2))
  np.testing.assert_array_equal(ids, [[3, 4, 5, 2, 0, 0], [6, 7, 2, 0, 0, 0],
                                      [8, 9, 10, 11, 2, 0],
                                      [5, 3, 2, 0, 0, 0]])
  texts = bt.translate(model, batch["pose"], batch["pose_mask"],
                       lambda ids: " ".join(map(str, ids)), max_len=6)
  assert texts == ["3 4 5", "6 7", "8 9 10 11", "5 3"]


def test_greedy_decode_truncates_without_eos(trained):
  model, _ = trained
  batch = _batch()
  ids = np.asarray(bt.greedy_decode(model, batch["pose"], batch["pose_mask"],
                                    max_len=2, bos_id=1, eos_id=2))
  assert ids.shape == (4, 2) and ids.dtype == np.int32
  np.testing.assert_array_equal(ids, [[3, 4], [6, 7], [8, 9], [5, 3]])
  with pytest.raises(ValueError, match="exceeds the model's max_text_len"):
    bt.greedy_decode(model, batch["pose"], batch["pose_mask"], max_len=9,
                     bos_id=1, eos_id=2)


def test_train_backtranslator_rejects_short_iterator():
  with pytest.raises(ValueError, match="ended after 0 of 3 steps"):
    bt.train_backtranslator(iter([]), _cfg(), steps=3, progress=False)
  bad = {k: v for k, v in _batch().items() if k != "text_mask"}
  with pytest.raises(ValueError, match=r"batch 0 lacks keys \['text_mask'\]"):
    bt.train_backtranslator(iter([bad]), _cfg(), steps=1, progress=False)
