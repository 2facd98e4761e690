"""One code path for 1 or N devices (and processes); chunked candidate evaluation."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from conftest import REPO
from hades import sharding
from hades.errors import ConfigError

SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    import conftest  # Exact CPU math, as the launchers set it.
    import numpy as np, jax
    out, overrides, dist = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
    generations = overrides.pop("_generations")
    if dist:  # Multi-process: coordinator, num_processes, process_id.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(dist[0], int(dist[1]), int(dist[2]))
    from hades import config as config_lib
    from hades import distill
    from hades import sharding
    config = config_lib.resolve_config(conftest.tiny_config(**overrides))
    components = distill.build(config)
    state = distill.init_state(components, config.seed)
    run = distill.make_distill_run(distill.make_distill_step(components), generations)
    run.lower(state).compile()
    sharding.sync_processes("compiled")
    state, metrics = run(state)
    arrays = {{prefix + jax.tree_util.keystr(p): np.asarray(jax.device_get(x))
              for prefix, tree in (("es/", state.es_state), ("validation/", state.validation))
              for p, x in jax.tree_util.tree_leaves_with_path(tree)}}
    arrays.update({{"metrics/" + k: np.asarray(jax.device_get(v)) for k, v in metrics.items()}})
    if jax.process_index() == 0:
        np.savez(out, devices=jax.device_count(), **arrays)
""")

# Real horizon: 1000-step episodes evaluated for 1000 steps, 3 generations, the ES mean
# validated after each. Chunks of 2 candidates: every device count runs the same shapes.
REAL = {"es.population_size": 8, "es.candidates_per_chunk": 2, "eval.num_steps": 1000,
        "student.width": 16, "student.bc_steps": 20, "validation.every_generations": 1,
        "validation.num_students": 2}
# The CPU default's shapes (popsize 32 in chunks of 16, 2x64 student, 200 BC steps): whole
# per-device batches of 32 and 16 candidates rounded differently, chunks of 16 do not.
DEFAULT_SHAPES = {"es.population_size": 32, "es.candidates_per_chunk": 16,
                  "eval.num_steps": 1000, "student.width": 64, "student.bc_steps": 200,
                  "validation.num_students": 2}


def _start(tmp_path, name, devices, overrides, *dist_args, generations=3):
  script = tmp_path / "run.py"
  script.write_text(SCRIPT.format(tests=os.path.join(REPO, "tests")))
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
  out = tmp_path / f"{name}.npz"
  payload = json.dumps(dict(overrides, _generations=generations))
  proc = subprocess.Popen([sys.executable, str(script), str(out), payload,
                           *dist_args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  return proc, out


def _finish(proc, out):
  _, err = proc.communicate(timeout=900)
  assert proc.returncode == 0, err[-3000:]
  with np.load(out) as f:
    return {k: f[k] for k in f.files}


def _run(tmp_path, name, devices, overrides=REAL):
  return _finish(*_start(tmp_path, name, devices, overrides))


def _assert_identical(a, b):
  assert set(a) - {"devices"} == set(b) - {"devices"}
  for key in a:
    if key != "devices":
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_population_must_divide_device_count():
  with pytest.raises(ConfigError, match="not divisible by the 4 devices"):
    sharding.check_population_divides(6, types.SimpleNamespace(size=4))
  sharding.check_population_divides(8, types.SimpleNamespace(size=4))


def test_cpu_devices_default_to_the_cores_that_split_the_population():
  assert sharding.cpu_device_count([(32, 0)], cores=2) == 2
  assert sharding.cpu_device_count([(32, 0)], cores=3) == 2  # 3 does not divide 32.
  assert sharding.cpu_device_count([(6, 0)], cores=8) == 6
  assert sharding.cpu_device_count([(32, 16)], cores=4) == 2  # Shares of 8 < a chunk of 16.
  assert sharding.cpu_device_count([(32, 0), (6, 0)], cores=4) == 2  # Every task's population.
  assert sharding.cpu_device_count([(7, 0)], cores=2) == 1


def test_request_cpu_devices_keeps_a_count_the_user_set(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX --xla_force_host_platform_device_count=3")
  assert sharding.request_cpu_devices(2) == 3
  assert os.environ["XLA_FLAGS"].count("device_count") == 1
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX")
  assert sharding.request_cpu_devices(2) == 2
  assert os.environ["XLA_FLAGS"].endswith("--xla_force_host_platform_device_count=2")
  monkeypatch.setenv("XLA_FLAGS", "")
  assert sharding.request_cpu_devices(1) == 1 and os.environ["XLA_FLAGS"] == ""


@pytest.mark.slow
def test_same_result_on_1_and_4_devices_at_real_horizon(tmp_path):
  """3 generations of hopper with 1000-step evaluations: the ES state and every metric are
  bit-identical on 1 and 4 devices (HaDES-F: the discrete test below)."""
  overrides = dict(REAL)
  counts = (1, 4)  # 1 vs 2 devices: the default-shapes and two-process tests below.
  results = {n: _run(tmp_path, f"d{n}", n, overrides) for n in counts}
  assert [int(results[n]["devices"]) for n in counts] == list(counts)
  assert np.all(results[1]["metrics/episodes/mean"] > 0)  # Real episodes finished.
  assert np.any(results[1]["es/.mean"] != 0)  # The ES moved.
  for n in counts[1:]:
    _assert_identical(results[n], results[1])


@pytest.mark.slow
def test_default_shapes_same_result_on_1_and_2_devices(tmp_path):
  """The CPU default's population (32 candidates in chunks of 16): one device running two
  chunks and two devices running one each give the same generation, bit for bit."""
  one = _finish(*_start(tmp_path, "one", 1, dict(DEFAULT_SHAPES), generations=1))
  two = _finish(*_start(tmp_path, "two", 2, dict(DEFAULT_SHAPES), generations=1))
  assert np.all(one["metrics/episodes/mean"] > 0)  # Real episodes finished.
  _assert_identical(two, one)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["R", "F"])
def test_discrete_task_same_result_on_1_and_4_devices(tmp_path, mode):
  """CartPole (gymnax, fixed labels) at its real 500-step horizon: bit-identical on 1 and 4
  devices, for HaDES-R and HaDES-F (a compile of seconds, where hopper's takes minutes)."""
  overrides = dict(REAL, **{"task": "cartpole", "eval.num_steps": 500, "hades.mode": mode})
  one, four = (_run(tmp_path, f"c{n}", n, overrides) for n in (1, 4))
  assert np.all(one["metrics/episodes/mean"] > 0)
  assert np.any(one["es/.mean"] != 0)
  _assert_identical(four, one)


def test_chunk_must_divide_each_devices_candidates():
  import conftest
  from hades import config as config_lib
  from hades import distill

  config = config_lib.resolve_config(conftest.tiny_config(), {"es.candidates_per_chunk": 3})
  with pytest.raises(ConfigError, match="must divide the 4 candidates"):
    distill.build(config)
  # The default (-1) resolves to gcd(population, 16), and resolving again keeps it.
  for population, chunk in ((32, 16), (24, 8), (4, 4), (2048, 16)):
    config = config_lib.resolve_config(conftest.tiny_config(**{"es.population_size": population}))
    assert config.es.candidates_per_chunk == chunk
    assert config_lib.resolve_config(config).es.candidates_per_chunk == chunk


# CartPole at its real 500-step horizon: the processes' exchange does not depend on the env, and
# CartPole compiles in seconds where hopper takes minutes in each of the three processes.
LAUNCH_ARGS = ["--task=cartpole", "--config.es.population_size=8",
               "--config.es.num_generations=4", "--config.student.width=16",
               "--config.student.bc_steps=10", "--config.eval.num_steps=500",
               "--config.final_eval.num_students=2",
               "--config.final_eval.num_steps=50", "--config.log.generations_per_call=2",
               "--config.checkpoint.every_generations=2",
               "--config.validation.every_generations=2", "--config.validation.num_students=2",
               "--config.es.candidates_per_chunk=2"]
def _launch(workdir, devices, *extra):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             PYTHONWARNINGS="ignore")
  return subprocess.Popen([sys.executable, "-m", "launch.distill", f"--workdir={workdir}",
                           *LAUNCH_ARGS, *extra], cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def test_launchers_do_not_start_the_backend_on_import():
  """jax.distributed.initialize() must run before the XLA backend starts; launchers call it
  after their imports."""
  for launcher in ("launch.distill", "launch.distill_all"):
    code = (f"import {launcher}; from jax._src import xla_bridge; "
            "print(xla_bridge.backends_are_initialized())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.split() == ["False"], (launcher, out.stdout, out.stderr[-2000:])


@pytest.mark.slow
# One device per process (2 processes vs 1 process with 2 devices): 2 devices per process runs
# the same code path, for 3 more processes of CI time.
@pytest.mark.parametrize("devices_per_process", [1])
def test_two_processes_with_jax_distributed_match_one_process(tmp_path, devices_per_process):
  """`launch.distill` in 2 real processes (jax.distributed on localhost, 1 or 2 CPU devices
  each) writes the same dataset and metrics, bit for bit, as 1 process with as many devices in
  all (CartPole's 500-step evaluations); only process 0 writes."""
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  procs = [_launch(tmp_path / "multi", devices_per_process,
                   f"--coordinator_address=localhost:{port}", "--num_processes=2",
                   f"--process_id={i}") for i in range(2)]
  single = _launch(tmp_path / "single", 2 * devices_per_process)
  errs = []
  for proc in [*procs, single]:
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    errs.append(err)
  assert "[cartpole] gen 4/4" in errs[0] and "[cartpole]" not in errs[1]  # Process 0 reports.
  multi, one = tmp_path / "multi" / "cartpole", tmp_path / "single" / "cartpole"
  a, b = np.load(multi / "dataset.npz"), np.load(one / "dataset.npz")
  np.testing.assert_array_equal(a["states"], b["states"])
  np.testing.assert_array_equal(a["actions"], b["actions"])
  rows = [[{k: v for k, v in json.loads(l).items() if k not in ("env_steps_per_s", "wall_time")}
           for l in (d / "metrics.jsonl").read_text().splitlines()] for d in (multi, one)]
  assert rows[0] == rows[1] and len(rows[0]) == 4
  assert sorted(p.name for p in (multi / "checkpoints").iterdir() if p.name.isdigit()) == ["2", "4"]
