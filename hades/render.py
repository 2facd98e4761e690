"""Videos of students: roll a policy out and write a GIF, drawn by the task's family (Brax:
MuJoCo frames; gymnax: drawn from the observations by `hades.drawing`)."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from hades import dataset as dataset_lib
from hades import evaluation
from hades import rollout
from hades import student as student_lib
from hades import tasks
from hades import types


@dataclasses.dataclass(frozen=True)
class VideoOptions:
  """What a GIF shows: `steps` env steps, every `every`-th drawn at `width` x `height`; `html`:
  also Brax's interactive viewer next to it (Brax tasks)."""

  steps: int = 200
  every: int = 2
  width: int = 320
  height: int = 240
  html: bool = False


def render_policy(task: str, info: dataset_lib.DatasetInfo, policy: types.Policy,
                  params: types.Params, output: str, key: jax.Array,
                  options: VideoOptions = VideoOptions(), head=None) -> dict:
  """Rolls `policy` out on `task` (with `info`'s normalisation and `head`, default the task's)
  and writes a GIF (`options`) to `output`, drawn the task family's way.

  Returns {'frames': n, 'return': undiscounted return over the rendered steps}.
  """
  spec, family = tasks.lookup(task)
  family.check_renderer(spec)
  head = head or tasks.make_head(task, info.labels)
  env = tasks.make_env(task, info.backend)
  trajectory = jax.jit(rollout.make_trajectory(env, policy, options.steps, info.normalization,
                                               info.obs_mean, info.obs_var, head=head))
  states, rewards, _ = jax.device_get(trajectory(params, key))
  frames = family.write_video(spec, env, states, output, options.every, options.width,
                              options.height, options.html)
  return {"frames": frames, "return": float(np.sum(rewards))}


def render_dataset_student(dataset_path: str, output: str, seed: int = 0,
                           options: VideoOptions = VideoOptions()) -> dict:
  """Trains a fresh student on `dataset_path` and writes a GIF of it (see `render_policy`).

  Uses the student settings of the run's config.json next to the dataset (else the paper's).
  """
  dataset, info = dataset_lib.load(dataset_path)
  task = tasks.resolve_task(info.task)
  spec, family = tasks.lookup(task)
  family.check_renderer(spec)
  settings = evaluation.student_settings(
      task, {**info.student, **evaluation.load_run_config(dataset_path).get("student", {})})
  obs_size, act_size = tasks.env_sizes(task, info.backend)
  dataset_lib.check_fits(dataset, obs_size, act_size, f"dataset for {task}")
  student = student_lib.make_student(obs_size, act_size, settings,
                                     tasks.make_head(task, info.labels))
  init_key, roll_key = jax.random.split(jax.random.key(seed))
  params = jax.tree.map(lambda x: x[0], jax.jit(student.init_params)(init_key[None]))
  params, _ = jax.jit(student.train)(params, dataset)
  return render_policy(task, info, student.policy, params, output, roll_key, options,
                       head=student.head)
