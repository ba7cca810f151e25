"""SignLLM's RL loss and Priority Learning Channel (paper section 4.4).

Modules: `reward` (r = -MSE, the skip rule), `loss` (`rl_objective`, the
plain `masked_mean`), `plc` (the prioritised replay buffer, sharded or not).
The decisions on what the paper leaves open are in each module's docstring.
`train_state.py` holds the config block and the few calls the trainer makes;
this package re-exports them (`rl.objective`, `rl.init_state`, ...).

The config block (`default_rl_config()`, the `rl` sub-config):
  mode: "mse" (plain masked-mean MSE, the default), "rl" (reward-gated loss:
    the skip rule), "rl_plc" (rl + the replay channel).
  eta: priority intensity in P(i) ∝ f(r_i)^eta (the paper gives no value;
    1.0 = priorities proportional to f).
  priority_fn: f, one of "inv_mse" (default, (1/(mse+eps))^eta: scale-free),
    "exp" (exp(eta * r): depends on the pose units), "rank" ((1/rank)^eta).
  priority_eps: eps of "inv_mse".
  skip_rule: meaning of "skip when the reward is below 50%": "batch_quantile"
    (default: below the batch's skip_threshold-quantile), "normalised"
    (running min/max-normalised reward below skip_threshold), "none".
  skip_threshold: 0.5 (the paper's 50%).
  skip_unit: "example" (default) or "batch" (drop the whole batch when its
    mean normalised reward is below the threshold; "normalised" only).
  replay_capacity: total replay slots (split over the batch's mesh axes).
  replay_fraction: share of each batch drawn from the replay (rl_plc only).
  replay_mix: "replace" (default: the pipeline serves data.batch_size
    minus the replayed rows, so every mode trains on data.batch_size rows a
    step and costs the same as "mse"; the data take longer to go round) or
    "append" (the replayed rows come on top of the data.batch_size fresh
    rows: a step costs 1 + replay_fraction times a plain one). The paper
    does not say which; the README's ablation ran "append".
  is_beta: None (paper: no importance-sampling correction) or beta >= 0; a
    negative value also means off.
  min_replay_size: replay draws are masked out until this many are stored.
Fields missing from a caller's block (priority_eps, skip_unit) take the
defaults above; a block without replay_mix (written before it existed)
means "append".

The trainer's calls, all inside the jitted step, mode "rl_plc":
  1. `sample = replay_sample(rl_state, key, rl_cfg, num=R, lang=batch lang,
     mesh=mesh)`, R = `replay_batch_size(B, rl_cfg, num_shards)`;
  2. the model runs on the fresh rows ++ sample.items (same dict keys);
  3. `objective(L_B, mse_B, rl_cfg, example_mask_B=fresh mask ++
     sample.valid, rl_state=rl_state, is_weights_B=1 ++ sample.is_weights)`;
  4. `replay_record(rl_state, rl_cfg, fresh_B=batch, fresh_mse_B=...,
     sample=sample, replay_mse_R=..., mesh=mesh)` stores the fresh rows and
     refreshes the replayed ones (rewards = -stop_gradient(mse)).
Modes "mse" and "rl" need only step 3 (and "mse" no state at all).
"""

from signllm_jax.rl.train_state import BATCH_AXES
from signllm_jax.rl.train_state import REPLAY_MIXES
from signllm_jax.rl.train_state import default_rl_config
from signllm_jax.rl.train_state import is_beta
from signllm_jax.rl.train_state import validate
from signllm_jax.rl.train_state import replay_batch_size
from signllm_jax.rl.train_state import fresh_batch_size
from signllm_jax.rl.train_state import RLTrainState
from signllm_jax.rl.train_state import has_state
from signllm_jax.rl.train_state import batch_axes
from signllm_jax.rl.train_state import num_shards
from signllm_jax.rl.train_state import init_state
from signllm_jax.rl.train_state import objective
from signllm_jax.rl.train_state import replay_sample
from signllm_jax.rl.train_state import replay_record
