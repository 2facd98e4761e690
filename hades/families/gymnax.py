"""The gymnax family: CartPole, Acrobot, Pendulum, the MinAtar games, and any environment with
gymnax's API (a user's own, `TaskSpec.make_env`). Discrete actions give categorical students
(fixed one-hot or evolved labels), continuous ones Gaussian students; MinAtar games get the
authors' observation statistics, the paper's student preset ('minatar') and pictures of their
grids."""

from __future__ import annotations

import numpy as np

from hades import dataset as dataset_lib
from hades import gymnax_env
from hades import minatar_stats
from hades.errors import InputError
from hades.families import base
from hades.families import control


def _is_minatar(spec: base.TaskSpec) -> bool:
  return spec.env_id.endswith("-MinAtar")


class GymnaxFamily(control.ControlFamily):
  """gymnax environments (see the module docstring)."""

  name = "gymnax"

  def preset_groups(self, spec: base.TaskSpec) -> tuple[str, ...]:
    return ("gymnax", "minatar") if _is_minatar(spec) else ("gymnax",)

  def build_env(self, spec: base.TaskSpec, backend: str, episode_length: int):
    del backend  # gymnax envs have one.
    length = episode_length if episode_length > 0 else spec.episode_length
    if spec.make_env is not None:  # Named by its env id when it has one (its channels' names).
      return gymnax_env.GymnaxEnv(spec.env_id or spec.name, length or None, spec.make_env())
    return gymnax_env.make_gymnax_env(spec.env_id, length or None)

  def default_obs_stats(self, spec: base.TaskSpec):
    """The authors' statistics for MinAtar games (`hades.minatar_stats`)."""
    return minatar_stats.load_obs_stats(spec.env_id) if _is_minatar(spec) else None

  def plot_dataset(self, spec: base.TaskSpec, dataset: dataset_lib.SyntheticDataset,
                   info: dataset_lib.DatasetInfo, path: str, start=None) -> None:
    """MinAtar states as the game frames they encode (channels as colours, grouped by action
    label: the paper's interpretability figure); other tasks as heat-maps."""
    if not _is_minatar(spec):
      return super().plot_dataset(spec, dataset, info, path, start)
    from hades import drawing

    env = self.make_env(spec)
    states, actions = np.asarray(dataset.states), np.asarray(dataset.actions)
    labels = actions.argmax(-1) if info.labels == "fixed" else actions  # Logits: soft labels.
    drawing.plot_minatar_dataset(
        states, labels, env.num_channels, env.action_names, path, obs_mean=info.obs_mean,
        obs_var=info.obs_var, channel_names=gymnax_env.MINATAR_CHANNELS.get(spec.env_id),
        title=f"distilled {spec.name} dataset ({len(states)} states, {info.labels} labels)")

  def write_video(self, spec: base.TaskSpec, env, states, output: str, every: int, width: int,
                  height: int, html: bool) -> int:
    """Frames drawn from the observations (`hades.drawing`): MinAtar grids, CartPole, Acrobot,
    Pendulum."""
    from hades import drawing

    del html
    observations = np.asarray(states.obs)[::every]
    if len(env.obs_shape) == 3:  # MinAtar grid.
      frames = [drawing.minatar_frame(o, env.num_channels, cell=max(4, height // 10))
                for o in observations]
    elif env.env_id == "CartPole-v1":
      frames = [drawing.cartpole_frame(o, width, height) for o in observations]
    elif env.env_id == "Acrobot-v1":
      frames = [drawing.acrobot_frame(o, height) for o in observations]
    elif env.env_id == "Pendulum-v1":
      frames = [drawing.pendulum_frame(o, height) for o in observations]
    else:
      raise InputError(f"no drawing for {env.env_id}")
    drawing.save_gif(frames, output, fps=max(1, 30 // every))
    return len(frames)


FAMILY = GymnaxFamily()


def _task(name: str, num_actions: int, **kwargs) -> base.TaskSpec:
  # The paper's MinAtar students: 64 BC steps. Episodes end at the env's own time limit
  # (CartPole/Acrobot 500, MinAtar 1000, Freeway 2500, Pendulum 200 steps).
  env_id = gymnax_env.GYMNAX_IDS[name]
  return base.TaskSpec(name, family="gymnax", bc_steps=kwargs.pop("bc_steps", 64),
                       env_id=env_id, num_actions=num_actions, episode_length=0,
                       aliases=(env_id.lower(),) + kwargs.pop("aliases", ()), **kwargs)


def _space_invaders_paper():
  from hades.families import minatar_paper  # It imports gymnax: only once the env is built.

  return minatar_paper.make_space_invaders_paper()


TASKS = (
    _task("cartpole", 2),
    _task("acrobot", 3),
    _task("breakout", 3),
    _task("space_invaders", 4, aliases=("spaceinvaders",)),
    _task("asterix", 5),
    _task("freeway", 3),
    _task("seaquest", 6),
    # Continuous torque in [-2, 2]: a Gaussian student, like Brax's.
    _task("pendulum", 0, bc_steps=200),
    # SpaceInvaders as gymnax 0.0.6 (the paper's) defined it: the released datasets' env.
    base.TaskSpec("space_invaders_paper", family="gymnax", bc_steps=64,
                  env_id="SpaceInvaders-MinAtar", num_actions=4, episode_length=0,
                  make_env=_space_invaders_paper),
)
