"""Per-task returns of the generalist, against specialists, across tasks and architectures."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from hades import evaluation
from hades import fitness as fitness_lib
from hades import rollout
from hades import tasks
from multitask import agent as agent_lib
from multitask import combine


def make_generalist_eval(agent, slot: combine.TaskSlot, max_obs: int, num_envs: int,
                         num_steps: int, repeats: int = 1):
  """Returns eval(params [S], task_id, key) -> summary dict over the S generalists on `slot`,
  each evaluated `repeats` times with different keys (per_seed: each seed's mean)."""
  env = tasks.make_env(slot.name, slot.info.backend)
  view = agent_lib.TaskView(agent, None, max_obs, slot.act_size)  # Id passed with params.
  evaluate = rollout.make_evaluate(env, view, num_envs, num_steps, slot.info.normalization,
                                   slot.info.obs_mean, slot.info.obs_var, head=slot.head)

  @jax.jit
  def batched(params, task_id, keys):
    return jax.vmap(lambda p, k: evaluate((p, task_id), k))(params, keys)

  def run(params, task_id: int, key):
    n = jax.tree.leaves(params)[0].shape[0]
    tiled = jax.tree.map(lambda x: jnp.repeat(x, repeats, axis=0), params)
    results = batched(tiled, jnp.asarray(task_id, jnp.int32), jax.random.split(key, n * repeats))
    summary = fitness_lib.summarize(jax.device_get(results))
    summary["per_seed"] = [float(x) for x in
                           np.asarray(summary["per_student"]).reshape(n, repeats).mean(axis=1)]
    return summary

  return run


def _standard_error(values) -> float:
  """Standard error of the mean of `values` (0 for a single value)."""
  values = np.asarray(values, np.float64)
  return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


@dataclasses.dataclass(frozen=True)
class TransferSettings:
  """How the transfer report scores (see `evaluate_transfer`).

  Attributes:
    num_students: specialist / cross-task students per entry.
    num_steps: env steps per evaluation.
    architectures: student overrides for the architecture-transfer study.
    seed: the report's keys.
    generalist_repeats: evaluations (different keys) of each generalist seed per task; the
      specialist is scored on as many samples: `generalist_repeats` batches of `num_students`.
  """

  num_students: int = 3
  num_steps: int = 1024
  architectures: tuple = ()
  seed: int = 0
  generalist_repeats: int = 8


def evaluate_transfer(agent, params, slots: list[combine.TaskSlot], datasets: dict,
                      students: dict, num_envs: dict, settings: TransferSettings,
                      log=lambda s: None) -> dict:
  """The full transfer report (see launch.evaluate_transfer).

  Args:
    agent, params: the generalist and its per-seed params [S, ...].
    slots: task slots from `combine.combine`; datasets: {task: (SyntheticDataset, info)}.
    students: {task: student settings its dataset was distilled with}.
    num_envs: {task: envs per evaluation, matching its distillation (running normalisation)}.
  Per task: generalist / specialist means with standard errors (over generalist seeds, over
  specialist students), their ratio with its propagated standard error, the wrong-id ablation.
  """
  num_students, num_steps = settings.num_students, settings.num_steps
  arch_settings, seed = list(settings.architectures), settings.seed
  generalist_repeats = settings.generalist_repeats
  max_obs = max(s.obs_size for s in slots)
  names = [s.name for s in slots]
  key = jax.random.key(seed)
  out = {"tasks": names, "per_task": {}, "cross_task": {}, "architecture": {}}
  for slot in slots:
    gen_eval = make_generalist_eval(agent, slot, max_obs, num_envs[slot.name], num_steps,
                                    generalist_repeats)
    key, k1, k2 = jax.random.split(key, 3)
    generalist = gen_eval(params, slot.index, k1)
    wrong_id = (slot.index + 1) % len(slots)
    ablation = gen_eval(params, wrong_id, k2)
    # One compiled scorer per target task, shared by its specialist and the transplanted
    # datasets of the other tasks.
    scorer = evaluation.make_dataset_scorer(slot.name, datasets[slot.name][1],
                                            students[slot.name], num_students,
                                            num_envs[slot.name], num_steps)
    row = {}
    for source in slots:
      if source.name == slot.name:
        continue
      if source.discrete != slot.discrete:
        # Actions and labels of another kind: nothing to transplant.
        row[source.name] = float("nan")
        continue
      moved = combine.transplant(datasets[source.name][0], slot.obs_size, slot.act_size)
      row[source.name] = scorer(moved, seed)["return_mean"]
    # The specialist gets as many (student, evaluation) samples as the generalist has (seed,
    # evaluation) pairs: `generalist_repeats` batches of fresh students.
    own = datasets[slot.name][0]
    spec_returns = np.concatenate([scorer(own, seed + r)["per_student"]
                                   for r in range(generalist_repeats)])
    specialist = float(spec_returns.mean())
    row[slot.name] = specialist
    out["cross_task"][slot.name] = {s.name: row[s.name] for s in slots}  # [target][source]
    gen_mean = generalist["return_mean"]
    gen_sem = _standard_error(generalist["per_seed"])
    spec_sem = _standard_error(spec_returns)
    if specialist and gen_mean:
      ratio = gen_mean / specialist
      # First-order propagation of both standard errors.
      ratio_sem = abs(ratio) * float(np.hypot(gen_sem / gen_mean, spec_sem / specialist))
    else:
      ratio = gen_mean / specialist if specialist else float("nan")
      ratio_sem = float("nan")
    out["per_task"][slot.name] = {
        "generalist": gen_mean, "generalist_std": generalist["return_std"],
        "generalist_sem": gen_sem, "generalist_per_seed": generalist["per_seed"],
        "generalist_episodes": generalist["episodes"],
        "specialist": specialist, "specialist_sem": spec_sem,
        "specialist_students": len(spec_returns),
        "ratio": ratio, "ratio_sem": ratio_sem,
        "wrong_task_id": ablation["return_mean"], "wrong_task_id_used": names[wrong_id]}
    log(f"[{slot.name}] generalist {gen_mean:.1f} +- {gen_sem:.1f} | specialist "
        f"{specialist:.1f} +- {spec_sem:.1f} | ratio {ratio:.2f} +- {ratio_sem:.2f} | "
        f"wrong id ({names[wrong_id]}) {ablation['return_mean']:.1f}")
    for setting in arch_settings or []:
      label = ",".join(f"{k}={v}" for k, v in setting.items())
      student = dict(students[slot.name], **setting)
      result = evaluation.evaluate_dataset(datasets[slot.name][0], datasets[slot.name][1],
                                           student, num_students, num_envs[slot.name],
                                           num_steps, seed)
      out["architecture"].setdefault(slot.name, {})[label] = result["return_mean"]
      log(f"[{slot.name}] student {label}: {result['return_mean']:.1f}")
  return out
