"""The Brax family: continuous control (hopper, walker2d, ant, ...), Gaussian students, evolved
actions, MuJoCo-rendered videos."""

from __future__ import annotations

# First: brax imports MuJoCo, which prints notices without its GPU backend.
from hades import quiet_mujoco  # noqa: F401

import contextlib
import ctypes.util
import functools
import os

import jax
import numpy as np
from brax import envs as brax_envs
from brax.envs.wrappers import training as brax_training
from mujoco import mjx

from hades import files
from hades import paper_envs  # noqa: F401  (registers the paper's brax 0.9.4 env variants)
from hades.errors import ConfigError, InputError
from hades.families import base
from hades.families import control

BACKENDS = ("positional", "generalized", "spring", "mjx")


def check_backend(backend: str) -> str:
  if backend not in BACKENDS:
    raise ConfigError(f"unknown Brax backend {backend!r}; choose one of {', '.join(BACKENDS)}")
  return backend


def check_renderer() -> None:
  """Raises InputError with what to install when MuJoCo cannot render off-screen here."""
  backend = os.environ.get("MUJOCO_GL", "")
  library = {"osmesa": "OSMesa", "egl": "EGL"}.get(backend)
  if library and ctypes.util.find_library(library) is None:
    package = "libosmesa6" if backend == "osmesa" else "libegl1"
    raise InputError(f"rendering with MUJOCO_GL={backend} needs the {library} library, which "
                     f"is not installed: apt-get install {package}")


@contextlib.contextmanager
def _models_on_local_device():
  """Brax builds its System with mujoco.mjx.put_model, which places it on jax.devices()[0]. In a
  multi-process run that device belongs to process 0, and every other process would get a
  model it cannot read (JAX refuses to compile with it). Point put_model at this process's own
  first device while the env is built; one process: nothing changes."""
  if jax.process_count() == 1:
    yield
    return
  original = mjx.put_model
  mjx.put_model = functools.partial(original, device=jax.local_devices()[0])
  try:
    yield
  finally:
    mjx.put_model = original


class BraxFamily(control.ControlFamily):
  """Brax environments by name, with Brax's episode and auto-reset wrappers."""

  name = "brax"

  def check_backend(self, backend: str) -> str:
    return check_backend(backend)

  def build_env(self, spec: base.TaskSpec, backend: str, episode_length: int):
    backend = check_backend(backend)
    length = episode_length if episode_length > 0 else spec.episode_length
    with _models_on_local_device():
      env = brax_envs.get_environment(spec.env_id or spec.name, backend=backend)
    env = brax_training.EpisodeWrapper(env, episode_length=length, action_repeat=1)
    return brax_training.AutoResetWrapper(env)

  def check_renderer(self, spec: base.TaskSpec) -> None:
    del spec
    check_renderer()

  def write_video(self, spec: base.TaskSpec, env, states, output: str, every: int, width: int,
                  height: int, html: bool) -> int:
    """MuJoCo frames of the states (the 'track' camera where the task has one); with `html`,
    Brax's interactive viewer next to the GIF."""
    check_renderer()
    import imageio.v2 as imageio
    import mujoco
    from brax.io import image as brax_image

    steps = int(jax.tree.leaves(states)[0].shape[0])
    frames_states = [jax.tree.map(lambda x, i=i: x[i], states) for i in range(0, steps, every)]
    model = env.sys.mj_model
    cameras = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i)
               for i in range(model.ncam)]
    camera = "track" if "track" in cameras else None  # Follows the agent where it can.
    frames = brax_image.render_array(env.sys, frames_states, height=height, width=width,
                                     camera=camera)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with files.atomic_path(output) as tmp:
      imageio.mimsave(tmp, [np.asarray(f) for f in frames],
                      duration=every * 1000 * float(env.dt), loop=0)
    if html:
      from brax.io import html as brax_html

      all_states = [jax.tree.map(lambda x, i=i: x[i], states) for i in range(steps)]
      files.write_text(os.path.splitext(output)[0] + ".html",
                       brax_html.render(env.sys, all_states))
    return len(frames)


FAMILY = BraxFamily()

TASKS = (
    base.TaskSpec("ant"),
    base.TaskSpec("halfcheetah", aliases=("cheetah",)),
    base.TaskSpec("hopper", bc_steps=200),
    base.TaskSpec("humanoid"),
    base.TaskSpec("humanoidstandup"),
    base.TaskSpec("inverted_double_pendulum", bc_steps=200, aliases=("idp",)),
    # The paper's IDP (brax 0.9.4 reward and termination), see hades/paper_envs.py.
    base.TaskSpec("inverted_double_pendulum_paper", bc_steps=200),
    base.TaskSpec("reacher"),
    base.TaskSpec("walker2d", aliases=("walker",)),
)
