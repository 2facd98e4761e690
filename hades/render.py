"""Videos of students: roll a policy out and write a GIF (Brax frames rendered by MuJoCo;
gymnax frames drawn from the observations by `hades.drawing`)."""

from __future__ import annotations

import ctypes.util
import os

import jax
import numpy as np

from hades import dataset as dataset_lib
from hades import evaluation
from hades import rollout
from hades import student as student_lib
from hades import tasks
from hades import types
from hades.errors import InputError


def check_renderer() -> None:
  """Raises InputError with what to install when MuJoCo cannot render off-screen here."""
  backend = os.environ.get("MUJOCO_GL", "")
  library = {"osmesa": "OSMesa", "egl": "EGL"}.get(backend)
  if library and ctypes.util.find_library(library) is None:
    package = "libosmesa6" if backend == "osmesa" else "libegl1"
    raise InputError(f"rendering with MUJOCO_GL={backend} needs the {library} library, which "
                     f"is not installed: apt-get install {package}")


def _gymnax_frames(env, observations: np.ndarray, width: int, height: int) -> list:
  """Frames [H, W, 3] drawn from raw observations [T, obs] of a gymnax env."""
  from hades import drawing

  if len(env.obs_shape) == 3:  # MinAtar grid.
    return [drawing.minatar_frame(o, env.num_channels, cell=max(4, height // 10))
            for o in observations]
  if env.env_id == "CartPole-v1":
    return [drawing.cartpole_frame(o, width, height) for o in observations]
  if env.env_id == "Acrobot-v1":
    return [drawing.acrobot_frame(o, height) for o in observations]
  raise InputError(f"no drawing for {env.env_id}")


def render_policy(task: str, info: dataset_lib.DatasetInfo, policy: types.Policy,
                  params: types.Params, output: str, key: jax.Array, steps: int = 200,
                  every: int = 2, width: int = 320, height: int = 240,
                  html: bool = False, head=None) -> dict:
  """Rolls `policy` out on `task` (with `info`'s normalisation and `head`, default the task's)
  and writes a GIF to `output`.

  Returns {'frames': n, 'return': undiscounted return over the rendered steps}.
  """
  head = head or tasks.make_head(task, info.labels)
  env = tasks.make_env(task, info.backend)
  if tasks.get_task(task).family == "gymnax":
    from hades import drawing

    trajectory = jax.jit(rollout.make_trajectory(env, policy, steps, info.normalization,
                                                 info.obs_mean, info.obs_var, head=head))
    states, rewards, _ = jax.device_get(trajectory(params, key))
    frames = _gymnax_frames(env, np.asarray(states.obs)[::every], width, height)
    drawing.save_gif(frames, output, fps=max(1, 30 // every))
    return {"frames": len(frames), "return": float(np.sum(rewards))}
  check_renderer()
  import imageio.v2 as imageio
  import mujoco
  from brax.io import image as brax_image

  trajectory = jax.jit(rollout.make_trajectory(env, policy, steps, info.normalization,
                                               info.obs_mean, info.obs_var, head=head))
  states, rewards, _ = jax.device_get(trajectory(params, key))
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


def render_dataset_student(dataset_path: str, output: str, seed: int = 0, **kwargs) -> dict:
  """Trains a fresh student on `dataset_path` and writes a GIF of it (see `render_policy`).

  Uses the student settings of the run's config.json next to the dataset (else the paper's).
  """
  dataset, info = dataset_lib.load(dataset_path)
  task = tasks.resolve_task(info.task)
  if tasks.get_task(task).family == "brax":
    check_renderer()
  settings = evaluation.student_settings(
      task, {**info.student, **evaluation.load_run_config(dataset_path).get("student", {})})
  obs_size, act_size = tasks.env_sizes(task, info.backend)
  dataset_lib.check_fits(dataset, obs_size, act_size, f"dataset for {task}")
  student = student_lib.make_student(obs_size, act_size, settings,
                                     tasks.make_head(task, info.labels))
  init_key, roll_key = jax.random.split(jax.random.key(seed))
  params = jax.tree.map(lambda x: x[0], jax.jit(student.init_params)(init_key[None]))
  params, _ = jax.jit(student.train)(params, dataset)
  return render_policy(task, info, student.policy, params, output, roll_key, head=student.head,
                       **kwargs)
