"""How often ant's reset states end their episode at once, per Brax backend, and a step's cost.

  python bench/ant_resets.py                       # positional, spring, generalized
  python bench/ant_resets.py --backends=positional --num_resets=1024

For each backend: `--num_resets` reset states (ant's own reset noise), each stepped
`--steps` times with all-zero actions, then again with random constant actions (one per reset
state, uniform in [-1, 1]). Prints the fraction of reset states whose episode ends (torso
height out of ant's healthy range) within those steps, and the seconds per 1000 steps of 64
envs (after compilation). On the positional backend about a third of ant's reset states end
within a few steps (the contact correction throws the torso above the healthy range) and
Brax's auto-reset replays the same state, so one such state decides a student's whole score
(docs/brax_versions.md).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

from hades import tasks


def ended_fraction(env, keys: jax.Array, actions: jax.Array, steps: int) -> float:
  """Fraction of the reset states from `keys` [N] whose episode ends within `steps` steps under
  constant `actions` [N, act]."""

  def one(key, action):
    state = env.reset(key)

    def step(state, _):
      state = env.step(state, action)
      return state, state.done

    return jnp.any(jax.lax.scan(step, state, None, length=steps)[1] > 0)

  return float(jnp.mean(jax.jit(jax.vmap(one))(keys, actions)))


def seconds_per_1000_steps(env, num_envs: int = 64) -> float:
  keys = jax.random.split(jax.random.key(1), num_envs)

  @jax.jit
  def rollout(keys):
    state = jax.vmap(env.reset)(keys)

    def step(state, _):
      state = jax.vmap(env.step)(state, jnp.full((num_envs, env.action_size), 0.3))
      return state, state.reward

    return jax.lax.scan(step, state, None, length=1000)[1]

  rollout(keys).block_until_ready()
  start = time.perf_counter()
  rollout(keys).block_until_ready()
  return time.perf_counter() - start


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--backends", default="positional,spring,generalized")
  parser.add_argument("--num_resets", type=int, default=256)
  parser.add_argument("--steps", type=int, default=30)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--no-time", dest="time", action="store_false",
                      help="Skip the step-cost timing.")
  args = parser.parse_args()
  reset_key, action_key = jax.random.split(jax.random.key(args.seed))
  keys = jax.random.split(reset_key, args.num_resets)
  print(f"ant: {args.num_resets} reset states, {args.steps} steps each")
  print("| backend | ended, zero actions | ended, random constant actions | s per 1000 steps x 64 "
        "envs |")
  print("|---|---|---|---|")
  for backend in args.backends.split(","):
    env = tasks.make_env("ant", backend=backend)
    actions = jax.random.uniform(action_key, (args.num_resets, env.action_size), minval=-1.0,
                                 maxval=1.0)
    zero = ended_fraction(env, keys, jnp.zeros_like(actions), args.steps)
    random = ended_fraction(env, keys, actions, args.steps)
    cost = f"{seconds_per_1000_steps(env):.1f}" if args.time else "-"
    print(f"| {backend} | {zero:.1%} | {random:.1%} | {cost} |", flush=True)


if __name__ == "__main__":
  main()
