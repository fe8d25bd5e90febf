"""A training run killed after its first checkpoint resumes when rerun.

Authors
 * speechbrain-atst team 2026
"""

import os
import signal
import subprocess
import time

import pytest
from recipe_utils import RECIPE_DIR, logged_values, run, tail, train_command

#: Runs, kills and resumes the recipe in subprocesses.
pytestmark = pytest.mark.slow


def _wait_for_checkpoint(save, proc, timeout=300):
    """Waits until a complete checkpoint exists (optimizer.ckpt written)."""
    start = time.time()
    while time.time() - start < timeout:
        if list(save.glob("CKPT+*/optimizer.ckpt")):
            time.sleep(0.2)
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def test_killed_run_resumes(tiny_sed_data, recipe_env, tmp_path):
    out = tmp_path / "run"
    cmd = train_command(
        1,
        tiny_sed_data,
        out,
        batch_sizes=[1, 1, 2, 2],
        number_of_epochs=2,
        valid_every=2,
        ckpt_interval_steps=2,
    )
    proc = subprocess.Popen(
        cmd,
        env=recipe_env,
        cwd=str(RECIPE_DIR),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert _wait_for_checkpoint(out / "save", proc), "no checkpoint"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "test" / "metrics.json").exists()

    again = run(cmd, recipe_env)
    assert again.returncode == 0, tail(again)
    log = (out / "log.txt").read_text()
    assert log.count("Would load a checkpoint here, but none found yet") == 1
    # The second run loads the checkpoint before it trains.
    second = log.rindex("Beginning experiment!")
    loaded = log.index("Loading a checkpoint from", second)
    assert loaded < log.index("Going into epoch", second)
    # The resumed run went on from the checkpoint: both epochs end once.
    epochs = logged_values(out / "train_log.txt", "epoch")
    assert epochs[-1] == 2.0
    assert (out / "test" / "metrics.json").is_file()
