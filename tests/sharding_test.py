"""One code path for 1 or N devices (and processes): same seed and config, same result."""

import os
import socket
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from conftest import REPO
from hades import distill

SCRIPT = textwrap.dedent("""
    import sys, numpy as np, jax
    sys.path.insert(0, {tests!r})
    if len(sys.argv) > 2:  # Multi-process: coordinator, num_processes, process_id.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    import conftest
    from hades import distill
    config = distill.resolve_config(conftest.tiny_config(**{{
        "es.population_size": 8, "eval.num_steps": 30, "student.bc_steps": 10}}))
    components = distill.build(config)
    state = distill.init_state(components, config.seed)
    run = distill.make_distill_run(distill.make_distill_step(components), 3)
    run.lower(state).compile()
    distill.sync_processes("compiled")
    state, metrics = run(state)
    mean = np.asarray(jax.device_get(state.es_state.mean))
    fit = np.asarray(jax.device_get(metrics["fitness/mean"]))
    if jax.process_index() == 0:
        np.savez(sys.argv[1], mean=mean, fitness=fit, devices=jax.device_count())
""")


def _run(tmp_path, name, devices, *dist_args, wait=True):
  script = tmp_path / "run.py"
  script.write_text(SCRIPT.format(tests=os.path.join(REPO, "tests")))
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             PYTHONWARNINGS="ignore",
             PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
  out = tmp_path / f"{name}.npz"
  proc = subprocess.Popen([sys.executable, str(script), str(out), *dist_args], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  if not wait:
    return proc, out
  _, err = proc.communicate(timeout=600)
  assert proc.returncode == 0, err[-3000:]
  return np.load(out)


def test_population_must_divide_device_count():
  with pytest.raises(distill.ConfigError, match="not divisible by the 4 devices"):
    distill.check_population_divides(6, types.SimpleNamespace(size=4))
  distill.check_population_divides(8, types.SimpleNamespace(size=4))


@pytest.mark.slow
def test_same_result_on_1_2_4_devices(tmp_path):
  results = {n: _run(tmp_path, f"d{n}", n) for n in (1, 2, 4)}
  assert [int(results[n]["devices"]) for n in (1, 2, 4)] == [1, 2, 4]
  for n in (2, 4):
    np.testing.assert_allclose(results[n]["fitness"], results[1]["fitness"], rtol=1e-5)
    np.testing.assert_allclose(results[n]["mean"], results[1]["mean"], rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_two_processes_with_jax_distributed_match_one_process(tmp_path):
  single = _run(tmp_path, "single", 2)
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  coordinator = f"localhost:{port}"
  procs = [_run(tmp_path, f"p{i}", 1, coordinator, "2", str(i), wait=False) for i in range(2)]
  for proc, _ in procs:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
  multi = np.load(procs[0][1])
  assert int(multi["devices"]) == 2
  np.testing.assert_allclose(multi["fitness"], single["fitness"], rtol=1e-5)
  np.testing.assert_allclose(multi["mean"], single["mean"], rtol=1e-5, atol=1e-7)
