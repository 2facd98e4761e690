"""The BUILD file must say the truth: every target's deps are exactly what its sources import."""

import ast
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_PARTY = ("hades", "multitask", "launch", "checkpoints")
# Import name -> the @pypi label BUILD uses.
THIRD_PARTY = {"jax": "jax", "flax": "flax", "optax": "optax", "evosax": "evosax", "brax": "brax",
               "orbax": "orbax-checkpoint", "chex": "chex", "absl": "absl-py",
               "ml_collections": "ml-collections", "numpy": "numpy", "matplotlib": "matplotlib",
               "pytest": "pytest", "imageio": "imageio", "mujoco": "mujoco", "PIL": "pillow",
               "tensorboardX": "tensorboardX", "rich": "rich", "wandb": "wandb",
               "gymnax": "gymnax"}
# Scripts run by path: they import helper modules beside them by their bare name.
SCRIPT_DIRS = ("bench", "examples")
LAYERS = {"launch": 3, "multitask": 2, "hades": 1, "checkpoints": 0}


def _targets():
  tree = ast.parse(open(os.path.join(REPO, "BUILD")).read())
  targets = {}
  for node in ast.walk(tree):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
      kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
      targets[kw["name"]] = dict(kind=node.func.id, srcs=kw.get("srcs", []),
                                 deps=kw.get("deps", []))
  return targets


def _module_of(src):
  mod = src[:-3].replace("/", ".")
  return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


def _imports(path):
  tree = ast.parse(open(os.path.join(REPO, path)).read())
  names = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names.update(f"{node.module}.{a.name}" for a in node.names)
  return names


def test_build_deps_match_imports():
  targets = _targets()
  label_of_module = {_module_of(t["srcs"][0]): name for name, t in targets.items()
                     if t["kind"] == "py_library"}
  errors = []
  for name, target in targets.items():
    first, third = set(), set()
    for src in target["srcs"]:
      for imp in _imports(src):
        top = imp.split(".")[0]
        sibling = os.path.join(os.path.dirname(src), top + ".py")
        if (os.path.dirname(src) in SCRIPT_DIRS and top not in FIRST_PARTY
            and os.path.exists(os.path.join(REPO, sibling))):
          first.add(":" + label_of_module[_module_of(sibling)])  # A script's own helper.
        elif top in FIRST_PARTY:
          # The longest prefix that is a library target.
          parts = imp.split(".")
          for n in range(len(parts), 0, -1):
            cand = ".".join(parts[:n])
            if cand in label_of_module and label_of_module[cand] != name:
              first.add(":" + label_of_module[cand])
              break
        elif top in THIRD_PARTY:
          third.add("@pypi//" + THIRD_PARTY[top])
        elif top in sys.stdlib_module_names or top in ("conftest",):
          continue
        else:
          errors.append(f"{name}: import {imp!r} is neither first-party, known third-party, "
                        "nor stdlib")
    declared = set(target["deps"])
    if declared != first | third:
      errors.append(f"{name}: missing {sorted((first | third) - declared)}, "
                    f"extra {sorted(declared - (first | third))}")
  assert not errors, "\n".join(errors)


def test_every_python_file_has_a_target_and_layering_holds():
  targets = _targets()
  covered = {src for t in targets.values() for src in t["srcs"]}
  missing = []
  for top in FIRST_PARTY + ("tests", "bench", "examples"):
    for root, _, files in os.walk(os.path.join(REPO, top)):
      for f in files:
        if f.endswith(".py") and f != "conftest.py":
          rel = os.path.relpath(os.path.join(root, f), REPO)
          if rel not in covered:
            missing.append(rel)
  assert not missing, f"files without a BUILD target: {missing}"
  for name, target in targets.items():
    layer = LAYERS.get(name.split("/")[0])
    if layer is None:
      continue
    for dep in target["deps"]:
      if dep.startswith(":"):
        dep_layer = LAYERS[dep[1:].split("/")[0]]
        assert dep_layer <= layer, f"{name} must not depend on {dep} (layering)"
