"""The project as a Python package: `pip install .` gives a `charge-scheduler` command that is `python scheduler.py`,
and the Docker image installs exactly the versions requirements.lock names."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    """name -> version of each `name==version` line (names folded as pip folds them)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    return pins


def test_the_lock_holds_every_direct_requirement_at_its_pinned_version() -> None:
    direct, locked = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements.lock")
    missing = sorted(set(direct) - set(locked))
    assert not missing, f"requirements.lock lacks {missing}: run scripts/lock.sh"
    differ = {n: (v, locked[n]) for n, v in direct.items() if locked[n] != v}
    assert not differ, f"requirements.txt and requirements.lock disagree (txt, lock): {differ}: run scripts/lock.sh"


def test_the_image_installs_with_the_lock_as_constraints() -> None:
    text = (ROOT / "Dockerfile").read_text()
    (run,) = re.findall(r"^RUN pip install[^\n]*", text, re.M)
    assert "-c requirements.lock" in run, f"the image must install the locked versions: {run}"
    assert re.search(r"^COPY requirements\.txt requirements\.lock \./", text, re.M), "the lock is not copied first"


def test_metadata_names_a_version_the_changelog_has_and_the_console_script() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert f"## {project['version']}" in (ROOT / "CHANGELOG.md").read_text(), "CHANGELOG.md has no entry for it"
    assert project["scripts"]["charge-scheduler"] == "scheduler:main"
    assert (ROOT / "LICENSE").is_file() and (ROOT / "CONTRIBUTING.md").is_file()


@pytest.mark.slow
def test_pip_install_in_a_fresh_venv_gives_a_working_charge_scheduler(tmp_path: Path) -> None:
    """What an owner without Docker does: a new venv, `pip install .`, then the console script runs the demo from
    another folder (so nothing is read from the checkout) and writes the state file."""
    # a copy, so setuptools' build/ and *.egg-info land there and not in the checkout
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "state", "demo-state", "build", "*.egg-info", "__pycache__", ".*_cache"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"pip install . failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    state = tmp_path / "demo-state"
    work = tmp_path / "elsewhere"
    work.mkdir()
    run = subprocess.run([str(env_dir / "bin" / "charge-scheduler"), "--demo", "--once", "--state-dir", str(state)],
                         cwd=work, capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, f"charge-scheduler --demo --once failed:\n{run.stderr[-3000:]}"
    assert (state / "state.json").is_file(), "the demo wrote no state file"
    assert sys.version_info >= (3, 11)
