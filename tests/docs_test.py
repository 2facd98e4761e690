"""The README is a manual: short, every relative link resolves, nothing only we have."""

import os
import re

from conftest import REPO

LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def _pages():
  yield os.path.join(REPO, "README.md")
  for root, _, names in os.walk(os.path.join(REPO, "docs")):
    for name in names:
      if name.endswith(".md"):
        yield os.path.join(root, name)


def test_readme_is_a_manual_of_at_most_300_lines():
  with open(os.path.join(REPO, "README.md")) as f:
    text = f.read()
  assert len(text.splitlines()) <= 300
  assert not re.search(r"\b[0-9a-f]{7,40}\b", text), "a commit hash in the README"


def test_every_relative_link_resolves_and_nothing_points_at_our_shared_folder():
  broken = []
  for page in _pages():
    with open(page) as f:
      text = f.read()
    assert "../shared" not in text, page
    for target, _ in LINK.findall(text):
      if "://" in target or target.startswith("mailto:"):
        continue
      if not os.path.exists(os.path.join(os.path.dirname(page), target)):
        broken.append(f"{os.path.relpath(page, REPO)} -> {target}")
  assert not broken, broken
