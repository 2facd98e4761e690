import pytest

from hades import tasks


def test_aliases_resolve_to_brax_names():
  assert tasks.resolve_task("walker") == "walker2d"
  assert tasks.resolve_task(" Hopper ") == "hopper"
  assert tasks.resolve_task("cheetah") == "halfcheetah"


def test_all_paper_tasks_registered():
  brax = {name for name, spec in tasks.TASKS.items() if spec.family == "brax"}
  assert brax == {"ant", "halfcheetah", "hopper", "humanoid", "humanoidstandup",
                  "inverted_double_pendulum", "inverted_double_pendulum_paper", "reacher",
                  "walker2d"}
  assert tasks.get_task("hopper").bc_steps == 200
  assert tasks.get_task("inverted_double_pendulum").bc_steps == 200
  assert tasks.get_task("inverted_double_pendulum_paper").bc_steps == 200
  assert tasks.resolve_task("idp") == "inverted_double_pendulum"
  assert tasks.get_task("ant").bc_steps == 400


def test_unknown_task_and_backend_raise_clear_errors():
  with pytest.raises(ValueError, match="unknown task 'hoper'"):
    tasks.resolve_task("hoper")
  with pytest.raises(ValueError, match="unknown Brax backend"):
    tasks.check_backend("physx", "hopper")


def test_env_sizes_match_paper_datasets(hopper_env):
  assert (hopper_env.observation_size, hopper_env.action_size) == (11, 3)
  assert tasks.env_sizes("walker") == (17, 6)
