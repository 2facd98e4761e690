"""Videos of students: train one on a dataset, roll it out, render frames with MuJoCo."""

from __future__ import annotations

import os

import jax
import numpy as np

from hades import bc
from hades import dataset as dataset_lib
from hades import evaluation
from hades import policy as policy_lib
from hades import rollout
from hades import tasks


def render_dataset_student(dataset_path: str, output: str, steps: int = 200, every: int = 2,
                           width: int = 320, height: int = 240, seed: int = 0,
                           html: bool = False) -> dict:
  """Trains a fresh student on `dataset_path` and writes a GIF of it to `output`.

  Uses the student settings of the run's config.json next to the dataset (else the paper's).
  Returns {'frames': n, 'return': undiscounted return over the rendered steps}.
  """
  import imageio.v2 as imageio
  import mujoco
  from brax.io import image as brax_image

  dataset, info = dataset_lib.load(dataset_path)
  task = tasks.resolve_task(info.task)
  settings = evaluation.student_settings(
      task, evaluation.load_run_config(dataset_path).get("student", {}))
  env = tasks.make_env(task, info.backend)
  obs_size, act_size = int(env.observation_size), int(env.action_size)
  dataset_lib.check_fits(dataset, obs_size, act_size, f"dataset for {task}")
  policy = policy_lib.make_policy(act_size, settings["width"], settings["depth"],
                                  settings["activation"], settings["kernel_init"])
  init_key, roll_key = jax.random.split(jax.random.key(seed))
  params = jax.tree.map(lambda x: x[0],
                        jax.jit(policy_lib.make_init_params(policy, obs_size))(init_key[None]))
  params, _ = jax.jit(bc.make_bc_train(policy, settings["bc_steps"], settings["learning_rate"],
                                       settings["max_grad_norm"]))(params, dataset)
  trajectory = jax.jit(rollout.make_trajectory(env, policy, steps, info.normalization,
                                               info.obs_mean, info.obs_var))
  states, rewards, _ = jax.device_get(trajectory(params, roll_key))
  frames_states = [jax.tree.map(lambda x, i=i: x[i], states) for i in range(0, steps, every)]
  model = env.sys.mj_model
  cameras = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
  camera = "track" if "track" in cameras else None  # Follows the agent where the task has one.
  frames = brax_image.render_array(env.sys, frames_states, height=height, width=width,
                                   camera=camera)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  imageio.mimsave(output, [np.asarray(f) for f in frames], duration=every * 1000 * float(env.dt),
                  loop=0)
  if html:
    from brax.io import html as brax_html

    all_states = [jax.tree.map(lambda x, i=i: x[i], states) for i in range(steps)]
    with open(os.path.splitext(output)[0] + ".html", "w") as f:
      f.write(brax_html.render(env.sys, all_states))
  return {"frames": len(frames), "return": float(np.sum(rewards))}
