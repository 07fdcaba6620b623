"""Packaging: the editable install and a built wheel both import and run keraslab."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_editable_install_imports_from_the_source_tree(tmp_path):
    code = "import keraslab.core as c, keraslab.tui.cli as t; print(c.__file__); print(t.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    core_file, cli_file = proc.stdout.split()
    assert Path(core_file) == REPO / "core" / "__init__.py"
    assert Path(cli_file) == REPO / "tui" / "cli.py"
    script = Path(sys.executable).with_name("keraslab")
    assert subprocess.run([str(script), "--version"], capture_output=True, text=True).stdout.startswith("keraslab ")


def test_wheel_installs_and_runs(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("keraslab-*.whl")
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    # -S: no site hooks, so the editable finder of this venv stays out; deps come from site-packages
    site_packages = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), site_packages])}
    code = (
        "import keraslab.core as c, keraslab.tui.cli as cli; print(c.__file__);"
        "raise SystemExit(cli.main(['datasets']))"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(str(target))
    assert "digits" in proc.stdout
