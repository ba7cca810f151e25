"""The Priority Learning Channel (PLC): a prioritised replay of examples.

One module over ~400 lines on purpose: the buffer, its sharded variants and
the priority functions share one ReplayState and read as one algorithm.

Paper (section 4.4): P(i) = r(i)^eta / sum_j r(j)^eta with r = -MSE and eta
the "priority intensity"; the aim is to revisit *high-quality* (high-reward,
low-MSE) examples, the opposite of PER's preference for large TD errors.
What the paper leaves open, and what this module does:

- r <= 0 makes r^eta ill-defined. `priority_fn` picks a positive, increasing
  transform f with P(i) ∝ f(r_i)^eta, computed in log space at sample time:
    "exp":     P ∝ exp(eta * r)              (a softmax of eta * r; depends on
                                              the pose units)
    "inv_mse": P ∝ (1 / (mse + eps))^eta     (scale-free; the default)
    "rank":    P ∝ (1 / rank)^eta, rank 1 = the highest reward among the
               eligible slots (ties in slot order).
  The buffer therefore stores the raw reward per slot (`reward_C`), not a
  transformed priority: "rank" depends on the whole buffer and exp(eta * r)
  underflows float32 for large MSEs.
- Priorities persist across epochs: every example is stored under its global
  id (`ids_C`); re-adding an id already in the buffer overwrites its slot (item
  and reward) instead of duplicating it, so an example's priority is refreshed
  each time it is revisited (in a fresh batch or as a replay, via `add` or
  `update`). Fresh examples enter with their measured reward (not PER's
  "max priority"), since the step has just computed it.
- Eviction when full: the oldest inserted slot first (a ring), skipping slots
  refreshed in the same call. A refresh does not renew a slot's age. A
  (shard's) buffer smaller than one call's fresh plus refreshed rows keeps
  the refreshed rows and skips the excess fresh ones.
- Sampling is with replacement. Importance-sampling correction is not in the
  paper: `is_beta=None` gives weights 1. With beta set,
  w_i = (N P(i))^-beta / max_j (N P(j))^-beta over the N eligible slots.
- `mask_C` restricts sampling (e.g. to the batch's language: MLSF batches are
  single-language). With no eligible slot (or fewer than `min_size` items
  stored) the draws are returned with `valid` False, probability 0 and weight
  0; their items are the (finite) contents of slot 0 and must be masked out.
  Slots with a non-finite reward are never sampled.
- Sharding: the capacity axis is split over the data axis, each shard holds
  C / S slots plus its own `size` / `insert_pos` entry (those are [S]
  arrays: [1] unsharded), and draws num / S items from its own slice with its
  own key (`fold_in(key, axis_index)`). The replay batch is thus stratified by
  shard and `probs` are the within-shard probabilities; it equals the global
  P(i) only when shards hold equal total priority (no cross-device traffic
  beyond gathering the batch's ids/rewards). Likewise a shard with no slot
  eligible under `mask_C` returns invalid draws even when other shards have
  some. Ids are global: a fresh row whose id is stored on another shard only
  refreshes that slot's reward there.

All functions are pure and jittable; the state is a pytree of arrays (orbax
checkpoints it as is). Slots returned by `sample` / `sharded_sample` are
global slot numbers, what `update` / `sharded_update` take.
"""

import functools
from typing import Any, Callable, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

PRIORITY_FNS = ("exp", "inv_mse", "rank")

# A mesh axis, or several the capacity axis is split over jointly (e.g. the
# batch's ("data", "fsdp")).
AxisName = str | tuple[str, ...]


@flax.struct.dataclass
class ReplayState:
  """The replay buffer; every leaf has a leading shard-split axis.

  Attributes:
    items: a pytree of arrays with leading capacity axis C (e.g. the batch
      dict: pose [C, T, 151], pose_mask [C, T], text [C, L], lang [C], ...).
    reward_C: float32 reward r = -mse of each slot (0 where empty).
    ids_C: int32 global example id of each slot, -1 where empty.
    size: int32 [S], the number of filled slots of each shard's slice.
    insert_pos: int32 [S], the next slot (local) each shard's ring writes.
  """
  items: Any
  reward_C: jax.Array
  ids_C: jax.Array
  size: jax.Array
  insert_pos: jax.Array

  @property
  def capacity(self) -> int:
    return self.ids_C.shape[0]


class Sample(NamedTuple):
  """What `sample` returns (num = the number of draws, R below)."""
  items: Any          # the items pytree, leading axis R
  slots: jax.Array    # int32 [R] global slots (for `update`)
  probs: jax.Array    # float32 [R] sampling probability of each draw
  valid: jax.Array    # bool [R] False: nothing eligible, mask this row out
  is_weights: jax.Array  # float32 [R]: 1 (beta None) or IS weight; 0 invalid


def init(item_example: Any, capacity: int, *, num_shards: int = 1
         ) -> ReplayState:
  """An empty buffer.

  Args:
    item_example: one example (no leading axis): a pytree of arrays or
      jax.ShapeDtypeStruct, e.g. `jax.tree.map(lambda x: x[0], batch)`.
    capacity: total number of slots C (split evenly over the shards).
    num_shards: S, the size of the data axis the buffer will be split over.
  """
  if capacity <= 0 or capacity % num_shards:
    raise ValueError(f"replay capacity {capacity} must be a positive "
                     f"multiple of the number of data shards {num_shards}")
  items = jax.tree.map(
      lambda x: jnp.zeros((capacity, *x.shape), x.dtype), item_example)
  return ReplayState(
      items=items,
      reward_C=jnp.zeros((capacity,), jnp.float32),
      ids_C=jnp.full((capacity,), -1, jnp.int32),
      size=jnp.zeros((num_shards,), jnp.int32),
      insert_pos=jnp.zeros((num_shards,), jnp.int32))


def shardings(state: ReplayState, mesh: jax.sharding.Mesh,
              axis_name: AxisName = "data") -> Any:
  """NamedShardings for the state (for jit in/out_shardings, orbax restore)."""
  return jax.tree.map(lambda _: NamedSharding(mesh, P(axis_name)), state)


def log_priorities(reward_C: jax.Array, eligible_C: jax.Array, *,
                   priority_fn: str, eta: float, eps: float = 1e-6
                   ) -> jax.Array:
  """log f(r)^eta per slot, -inf where not eligible."""
  if priority_fn not in PRIORITY_FNS:
    raise ValueError(f"rl priority_fn {priority_fn!r} is not one of "
                     f"{PRIORITY_FNS}")
  if priority_fn == "exp":
    logit_C = eta * reward_C
  elif priority_fn == "inv_mse":
    logit_C = -eta * jnp.log(jnp.maximum(-reward_C, 0.0) + eps)
  else:
    # Descending reward; ineligible slots sort last and get no probability.
    order_C = jnp.argsort(jnp.where(eligible_C, -reward_C, jnp.inf),
                          stable=True)
    rank_C = jnp.zeros_like(order_C).at[order_C].set(
        jnp.arange(1, reward_C.shape[0] + 1, dtype=order_C.dtype))
    logit_C = -eta * jnp.log(rank_C.astype(jnp.float32))
  return jnp.where(eligible_C, logit_C, -jnp.inf)


def eligible(state: ReplayState, mask_C: jax.Array | None = None
             ) -> jax.Array:
  """Slots that may be drawn: filled, finite reward, and in mask_C."""
  ok_C = (state.ids_C >= 0) & jnp.isfinite(state.reward_C)
  if mask_C is not None:
    ok_C = ok_C & mask_C.astype(bool)
  return ok_C


def probabilities(state: ReplayState, *, priority_fn: str, eta: float,
                  mask_C: jax.Array | None = None, eps: float = 1e-6
                  ) -> jax.Array:
  """P(slot) over the eligible slots (all zeros when none is eligible)."""
  ok_C = eligible(state, mask_C)
  logit_C = log_priorities(state.reward_C, ok_C, priority_fn=priority_fn,
                           eta=eta, eps=eps)
  any_ok = jnp.any(ok_C)
  probs_C = jax.nn.softmax(jnp.where(any_ok, logit_C, 0.0))
  return jnp.where(any_ok & ok_C, probs_C, 0.0)


def _last_occurrence(key_G: jax.Array, valid_G: jax.Array) -> jax.Array:
  """valid rows not superseded by a later valid row with the same key."""
  g = jnp.arange(key_G.shape[0])
  later_same = ((key_G[:, None] == key_G[None, :]) & valid_G[None, :]
                & (g[None, :] > g[:, None]))
  return valid_G & ~jnp.any(later_same, axis=1)


def _add_core(state: ReplayState, items_b: Any, rewards_G: jax.Array,
              ids_G: jax.Array, valid_G: jax.Array,
              offset: jax.Array | None,
              found_anywhere: Callable[[jax.Array], jax.Array]
              ) -> ReplayState:
  """Adds the rows [offset, offset + b) of the G rows whose ids are known."""
  cap = state.capacity
  b = jax.tree.leaves(items_b)[0].shape[0]
  offset = 0 if offset is None else offset
  keep_G = _last_occurrence(ids_G, valid_G & (ids_G >= 0))
  hit_GxC = ((ids_G[:, None] == state.ids_C[None, :])
             & (state.ids_C >= 0)[None, :] & keep_G[:, None])
  found_G = jnp.any(hit_GxC, axis=1)
  hit_slot_G = jnp.argmax(hit_GxC, axis=1)
  # Every shard refreshes the rewards of the ids it holds, whoever owns the
  # row; only the owning shard has the row's item to write.
  reward_C = state.reward_C.at[jnp.where(found_G, hit_slot_G, cap)].set(
      rewards_G.astype(jnp.float32), mode="drop")
  anywhere_G = found_anywhere(found_G)

  def own(x):
    return jax.lax.dynamic_slice_in_dim(x, offset, b)

  own_ids, own_rewards = own(ids_G), own(rewards_G).astype(jnp.float32)
  own_found, own_slot = own(found_G), own(hit_slot_G)
  new_b = own(keep_G) & ~own(anywhere_G)
  # Free slots in ring order from insert_pos, skipping refreshed slots (which
  # are occupied, so empty slots still come first while the ring fills).
  pos = state.insert_pos[0]
  ring_C = (pos + jnp.arange(cap)) % cap
  protected_C = jnp.any(hit_GxC, axis=0)
  free_C = ring_C[jnp.argsort(protected_C[ring_C], stable=True)]
  rank_b = jnp.clip(jnp.cumsum(new_b) - 1, 0, cap - 1)
  # A slice too small for this call's fresh plus refreshed rows keeps the
  # refreshed ones and skips the excess fresh rows (a cache, not the data).
  new_b = new_b & ~protected_C[free_C[rank_b]]
  new_slot_b = jnp.where(new_b, free_C[rank_b], cap)
  target_b = jnp.where(own_found, own_slot, new_slot_b)
  items = jax.tree.map(
      lambda buf, x: buf.at[target_b].set(x.astype(buf.dtype), mode="drop"),
      state.items, items_b)
  ids_C = state.ids_C.at[new_slot_b].set(own_ids.astype(jnp.int32),
                                         mode="drop")
  reward_C = reward_C.at[new_slot_b].set(own_rewards, mode="drop")
  n_new = jnp.sum(new_b).astype(jnp.int32)
  last = free_C[jnp.maximum(n_new - 1, 0)]
  insert_pos = jnp.where(n_new > 0, (last + 1) % cap, pos).astype(jnp.int32)
  size = jnp.minimum(state.size + n_new, cap).astype(jnp.int32)
  return ReplayState(items=items, reward_C=reward_C, ids_C=ids_C,
                     size=size, insert_pos=insert_pos[None])


def _check_add(state: ReplayState, num_rows: int, num_shards: int) -> None:
  """Each shard must fit its own rows (num_rows / num_shards) in its slice."""
  local_cap = state.capacity // num_shards
  if num_rows // num_shards > local_cap:
    raise ValueError(f"replay add of {num_rows} rows exceeds the per-shard "
                     f"capacity {local_cap}; raise rl.replay_capacity")


def _valid_or_all(ids_B, valid_B):
  """valid_B as bool, or all True when None."""
  return (jnp.ones(ids_B.shape, bool) if valid_B is None
          else valid_B.astype(bool))


def add(state: ReplayState, items_B: Any, rewards_B: jax.Array, *,
        ids_B: jax.Array, valid_B: jax.Array | None = None) -> ReplayState:
  """Stores (or refreshes, by id) a batch of examples with their rewards.

  Args:
    state: an unsharded buffer (size of shape [1]).
    items_B: the items pytree with leading axis B (leaves as in `init`).
    rewards_B: r = -mse per row (stop-gradient is the caller's or implicit:
      nothing here is differentiated).
    ids_B: int global example ids (the batch's `idx`); ids < 0 are ignored.
    valid_B: rows to store (default all); padding/invalid rows are ignored.
      Within the batch, a repeated id keeps its last valid row.

  Returns:
    The new state.
  """
  if state.size.shape != (1,):
    raise ValueError("plc.add takes an unsharded state; use sharded_add")
  _check_add(state, ids_B.shape[0], 1)
  return _add_core(state, items_B, rewards_B, ids_B,
                   _valid_or_all(ids_B, valid_B), None, lambda f: f)


def _sample_core(state: ReplayState, key: jax.Array, num: int, *,
                 priority_fn: str, eta: float, mask_C: jax.Array | None,
                 is_beta: float | None, eps: float, ready: jax.Array,
                 slot_offset: jax.Array | int) -> Sample:
  """Draws num slots of the (local) buffer."""
  ok_C = eligible(state, mask_C)
  logit_C = log_priorities(state.reward_C, ok_C, priority_fn=priority_fn,
                           eta=eta, eps=eps)
  any_ok = jnp.any(ok_C)
  logit_C = jnp.where(any_ok, logit_C, 0.0)
  slots_R = jax.random.categorical(key, logit_C, shape=(num,))
  valid_R = jnp.broadcast_to(any_ok & ready, (num,)) & ok_C[slots_R]
  logp_C = jax.nn.log_softmax(logit_C)
  probs_R = jnp.where(valid_R, jnp.exp(logp_C[slots_R]), 0.0)
  if is_beta is None:
    is_w_R = valid_R.astype(jnp.float32)
  else:
    # (N P)^-beta / max_j (N P_j)^-beta = (P_min / P)^beta: N cancels.
    logp_min = jnp.min(jnp.where(ok_C, logp_C, jnp.inf))
    is_w_R = jnp.exp(is_beta * (logp_min - logp_C[slots_R]))
    is_w_R = jnp.where(valid_R, is_w_R, 0.0)
  items = jax.tree.map(lambda x: jnp.take(x, slots_R, axis=0), state.items)
  return Sample(items=items, slots=(slots_R + slot_offset).astype(jnp.int32),
                probs=probs_R.astype(jnp.float32), valid=valid_R,
                is_weights=is_w_R.astype(jnp.float32))


def sample(state: ReplayState, key: jax.Array, num: int, *,
           priority_fn: str, eta: float, mask_C: jax.Array | None = None,
           is_beta: float | None = None, eps: float = 1e-6,
           min_size: int = 0) -> Sample:
  """Draws num examples with replacement, P(i) ∝ f(r_i)^eta (module doc).

  Args:
    state: an unsharded buffer.
    key: a PRNG key.
    num: the number of draws R (static).
    priority_fn: one of PRIORITY_FNS.
    eta: the priority intensity.
    mask_C: optional bool [C], slots allowed (e.g. the batch's language).
    is_beta: None (paper: weights 1) or the IS exponent beta.
    eps: the inv_mse floor.
    min_size: draws are invalid while fewer items are stored.

  Returns:
    A `Sample`.
  """
  ready = jnp.sum(state.size) >= min_size
  # Shard 0's key, so that a 1-device `sharded_sample` draws the same.
  return _sample_core(state, jax.random.fold_in(key, 0), num,
                      priority_fn=priority_fn, eta=eta, mask_C=mask_C,
                      is_beta=is_beta, eps=eps, ready=ready, slot_offset=0)


def _update_core(state: ReplayState, slots_G: jax.Array,
                 rewards_G: jax.Array, ids_G: jax.Array | None,
                 valid_G: jax.Array, slot_offset: jax.Array | int
                 ) -> ReplayState:
  cap = state.capacity
  local_G = slots_G - slot_offset
  ok_G = valid_G & (local_G >= 0) & (local_G < cap)
  local_G = jnp.where(ok_G, local_G, 0)
  if ids_G is not None:
    ok_G = ok_G & (state.ids_C[local_G] == ids_G)
  ok_G = ok_G & (state.ids_C[local_G] >= 0)
  keep_G = _last_occurrence(slots_G, ok_G)
  reward_C = state.reward_C.at[jnp.where(keep_G, local_G, cap)].set(
      rewards_G.astype(jnp.float32), mode="drop")
  return state.replace(reward_C=reward_C)


def update(state: ReplayState, slots_R: jax.Array, rewards_R: jax.Array, *,
           ids_R: jax.Array | None = None, valid_R: jax.Array | None = None
           ) -> ReplayState:
  """Sets the rewards of sampled slots (e.g. after replaying them).

  Args:
    state: an unsharded buffer.
    slots_R: slots from `sample` (duplicates: the last valid row wins).
    rewards_R: the new rewards r = -mse.
    ids_R: optional ids the slots must still hold (guards against a slot
      overwritten by an `add` between sample and update).
    valid_R: rows to apply (default all), e.g. `Sample.valid`.
  """
  return _update_core(state, slots_R, rewards_R, ids_R,
                      _valid_or_all(slots_R, valid_R), 0)


# ----------------------------------------------------------------- sharded
# Each function wraps the core in jax.shard_map over `axis_name` (one axis or
# a tuple, split jointly, as the batch is); on a 1-device mesh they compute
# exactly what the unsharded functions compute.


def _num_shards(mesh: jax.sharding.Mesh, axis_name: AxisName) -> int:
  names = (axis_name,) if isinstance(axis_name, str) else axis_name
  n = 1
  for name in names:
    n *= mesh.shape[name]
  return n


def sharded_add(state: ReplayState, items_B: Any, rewards_B: jax.Array, *,
                ids_B: jax.Array, valid_B: jax.Array | None = None,
                mesh: jax.sharding.Mesh, axis_name: AxisName = "data"
                ) -> ReplayState:
  """`add` for a buffer and a batch both split over `axis_name`.

  Each shard stores its own rows in its own slice; ids are matched against
  every shard (the batch's ids and rewards are all-gathered), so an id stored
  anywhere is refreshed where it is, never duplicated.
  """
  n = _num_shards(mesh, axis_name)
  if ids_B.shape[0] % n:
    raise ValueError(f"batch of {ids_B.shape[0]} rows does not split over "
                     f"{n} data shards")
  _check_add(state, ids_B.shape[0], n)
  valid_B = _valid_or_all(ids_B, valid_B)

  def local(st, items_b, rewards_b, ids_b, valid_b):
    gather = functools.partial(jax.lax.all_gather, axis_name=axis_name,
                               tiled=True)
    offset = jax.lax.axis_index(axis_name) * ids_b.shape[0]

    def anywhere(found_G):
      return jax.lax.psum(found_G.astype(jnp.int32), axis_name) > 0

    return _add_core(st, items_b, gather(rewards_b), gather(ids_b),
                     gather(valid_b), offset, anywhere)

  spec = P(axis_name)
  return jax.shard_map(local, mesh=mesh, in_specs=(spec,) * 5,
                       out_specs=spec)(state, items_B, rewards_B, ids_B,
                                       valid_B)


def sharded_sample(state: ReplayState, key: jax.Array, num: int, *,
                   priority_fn: str, eta: float,
                   mask_C: jax.Array | None = None,
                   is_beta: float | None = None, eps: float = 1e-6,
                   min_size: int = 0, mesh: jax.sharding.Mesh,
                   axis_name: AxisName = "data") -> Sample:
  """`sample` per shard: num / S draws from each shard's slice, own key.

  The result's rows are in shard order (rows [k R/S, (k+1) R/S) come from
  shard k) and split over `axis_name`; `min_size` applies to the total size.
  """
  n = _num_shards(mesh, axis_name)
  if num % n:
    raise ValueError(f"replay draws {num} do not split over {n} data shards")
  if mask_C is None:
    mask_C = jnp.ones(state.ids_C.shape, bool)

  def local(st, key, mask_c):
    shard = jax.lax.axis_index(axis_name)
    ready = jax.lax.psum(jnp.sum(st.size), axis_name) >= min_size
    return _sample_core(st, jax.random.fold_in(key, shard), num // n,
                        priority_fn=priority_fn, eta=eta, mask_C=mask_c,
                        is_beta=is_beta, eps=eps, ready=ready,
                        slot_offset=shard * st.capacity)

  spec = P(axis_name)
  return jax.shard_map(local, mesh=mesh, in_specs=(spec, P(), spec),
                       out_specs=spec)(state, key, mask_C)


def sharded_update(state: ReplayState, slots_R: jax.Array,
                   rewards_R: jax.Array, *, ids_R: jax.Array | None = None,
                   valid_R: jax.Array | None = None,
                   mesh: jax.sharding.Mesh, axis_name: AxisName = "data"
                   ) -> ReplayState:
  """`update` for a split buffer; slots are global (from `sharded_sample`).

  The (small) slot/reward rows are replicated to every shard, which applies
  those that fall in its slice, so any row order works.
  """
  valid_R = _valid_or_all(slots_R, valid_R)
  check_ids = ids_R is not None
  if not check_ids:
    ids_R = jnp.zeros(slots_R.shape, jnp.int32)  # unused placeholder

  def local(st, slots, rewards, ids, valid):
    shard = jax.lax.axis_index(axis_name)
    return _update_core(st, slots, rewards, ids if check_ids else None,
                        valid, shard * st.capacity)

  return jax.shard_map(local, mesh=mesh,
                       in_specs=(P(axis_name),) + (P(),) * 4,
                       out_specs=P(axis_name))(state, slots_R, rewards_R,
                                               ids_R, valid_R)


def stats(state: ReplayState) -> dict[str, jax.Array]:
  """Scalar metrics: stored items and their mean reward."""
  filled_C = state.ids_C >= 0
  n = jnp.sum(filled_C)
  mean = jnp.sum(jnp.where(filled_C, state.reward_C, 0.0)) / jnp.maximum(n, 1)
  return {"replay/size": n.astype(jnp.float32),
          "replay/reward_mean": mean.astype(jnp.float32)}
