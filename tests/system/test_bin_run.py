"""bin/run starts the stand-in with the demo key in its environment, never on its command line (which `ps`
shows to every local user)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Stands in for .venv/bin/python: records how the stand-in is started, then stays up like it; runs real
# Python for the key and secret one-liners; and stops bin/run at its first manage.py step.
FAKE_PYTHON = f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "kodexa_sim" ]; then
  printf '%s\\n' "$@" > sim_argv.txt
  printf '%s' "$KODEXA_SIM_API_KEY" > sim_env_key.txt
  echo "listening on http://127.0.0.1:9"
  exec sleep 30
fi
if [ "$1" = "-c" ]; then exec {sys.executable} "$@"; fi
exit 3
"""


def test_bin_run_passes_the_stand_in_key_through_the_environment(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    shutil.copy(ROOT / "bin" / "run", tmp_path / "bin" / "run")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KODEXA_", "DJANGO_"))}
    env["DJANGO_SECRET_KEY"] = "x" * 50
    done = subprocess.run(["bash", str(tmp_path / "bin" / "run")], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3, done.stderr  # stopped where the fake's manage.py step failed
    key = (tmp_path / "sim_env_key.txt").read_text()
    argv = (tmp_path / "sim_argv.txt").read_text().splitlines()
    assert key.startswith("demo-") and len(key) > 20
    assert key not in " ".join(argv) and "--api-key" not in argv
    assert argv[:2] == ["-m", "kodexa_sim"] and "--seed" in argv
