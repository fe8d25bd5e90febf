"""Training killed with SIGKILL at random points resumes when rerun.

The tiny recipe (2 s windows, four steps per epoch, a checkpoint after
every step) is killed at seeded random times after its first checkpoint
and while validating, in stage 1 and stage 2. Rerunning the same command
must load the newest checkpoint that was complete when the process died
(so at most the steps since it are redone), never a partial one; a
checkpoint cut short on disk (simulated by truncating the newest one's
files) is deleted and the one before it is loaded. The runs finish with
every epoch and optimizer step done exactly once and only complete,
finite checkpoints on disk. (This also covers the plain case: a run
killed after its first checkpoint, which found none when it started,
writes no test metrics, and its rerun loads that checkpoint before it
trains.) The killed runs are subprocesses; the reruns that finish run
in this process (``run_inline``).

Authors
 * speechbrain-atst team 2026
"""

import os
import random
import re
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import torch
import yaml
from recipe_utils import RECIPE_DIR, run_inline, tail, train_command

from speechbrain_atst.training.dataio import build_datasets
from speechbrain_atst.training.sampler import SubsetBatchSampler

#: Runs, kills and resumes the recipe in subprocesses.
pytestmark = pytest.mark.slow

BATCH = [1, 1, 2, 2]
#: Files of a complete checkpoint of the recipe (dataloader before the
#: optimizer, which SpeechBrain writes last).
FILES = {
    "CKPT.yaml",
    "student.ckpt",
    "teacher.ckpt",
    "lr_scheduler.ckpt",
    "counter.ckpt",
    "brain.ckpt",
    "dataloader-TRAIN.ckpt",
    "optimizer.ckpt",
}


def complete_checkpoints(save):
    """``(unixtime, folder, meta)`` of the complete checkpoints, oldest
    first (an independent check: meta parses, every file is there and no
    zip archive lacks its end record)."""
    out = []
    for folder in Path(save).glob("CKPT+*"):
        try:  # a running recipe may be deleting the folder meanwhile
            meta = yaml.safe_load((folder / "CKPT.yaml").read_text())
            names = {p.name for p in folder.iterdir()}
            if not isinstance(meta, dict) or not FILES <= names:
                continue
            files = list(folder.glob("*.ckpt"))
            if any(p.stat().st_size == 0 for p in files):
                continue
            if any(
                p.read_bytes()[:2] == b"PK" and not zipfile.is_zipfile(p)
                for p in files
            ):
                continue
        except (OSError, yaml.YAMLError):
            continue
        out.append((meta["unixtime"], folder, meta))
    return sorted(out, key=lambda x: x[0])


def brain_step(folder):
    """The epoch step recorded in a checkpoint's ``brain.ckpt`` (None if
    the running recipe deleted the checkpoint since it was listed)."""
    try:
        return yaml.safe_load((folder / "brain.ckpt").read_text())["step"]
    except OSError:
        return None


def start(cmd, env):
    """Starts the recipe in its own process group."""
    return subprocess.Popen(
        cmd,
        env=env,
        cwd=str(RECIPE_DIR),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_when(proc, ready, delay, timeout=240):
    """SIGKILLs the process group ``delay`` s after ``ready()`` holds.

    Returns True if it was killed (False if it ended first).
    """
    t0 = time.time()
    try:
        while not ready():
            assert time.time() - t0 < timeout, "the run never got there"
            if proc.poll() is not None:
                return False
            time.sleep(0.05)
        time.sleep(delay)
    finally:  # never leave a run behind, whatever happened
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode == -signal.SIGKILL


def run_segments(log_file):
    """The text of each run (split at SpeechBrain's start banner)."""
    text = Path(log_file).read_text()
    return text.split("Beginning experiment!")[1:]


def loaded_at_start(segment):
    """Folder a run resumed from (None if it found no checkpoint)."""
    first = segment.split("Going into epoch")[0]
    found = re.search(r"Loading a checkpoint from (\S+)", first)
    if found:
        return Path(found.group(1)).name
    assert "none found yet" in first or "Going into epoch" not in segment
    return None


def epoch_lines(train_log):
    """``(epoch, step)`` of each end-of-epoch line of the train log."""
    text = Path(train_log).read_text()
    return [
        (int(e), int(s))
        for e, s in re.findall(r"^epoch: (\d+), step: (\d+)", text, re.M)
    ]


def check_finished(out, epochs, steps_per_epoch):
    """Every epoch ran once, no step was lost or repeated, every
    checkpoint left is complete, loadable and finite."""
    lines = epoch_lines(out / "train_log.txt")
    # An epoch killed between its log line and its checkpoint is logged
    # again by the run that redoes its end; its step count is the same.
    assert sorted(set(lines)) == [
        (e, e * steps_per_epoch) for e in range(1, epochs + 1)
    ], lines
    assert (out / "test" / "metrics.json").is_file()
    folders = list((out / "save").glob("CKPT+*"))
    complete = {c[1] for c in complete_checkpoints(out / "save")}
    assert folders and set(folders) == complete
    for folder in folders:
        for name in ("student.ckpt", "teacher.ckpt", "optimizer.ckpt"):
            state = torch.load(folder / name, weights_only=True)
            if name != "optimizer.ckpt":
                assert all(
                    bool(torch.isfinite(v).all())
                    for v in state.values()
                    if v.is_floating_point()
                )


def resume_and_check(cmd, out, expected):
    """Reruns ``cmd`` to the end (in this process: nothing kills it);
    checks it resumed from ``expected``."""
    proc = run_inline(cmd)
    assert proc.returncode == 0, tail(proc)
    segment = run_segments(out / "log.txt")[-1]
    assert loaded_at_start(segment) == expected
    return segment


def truncate_newest(save, how):
    """Damages the newest complete checkpoint like a kill while writing.

    Returns (damaged folder name, name of the one that must be loaded).
    """
    checkpoints = complete_checkpoints(save)
    newest = checkpoints[-1][1]
    if how == "cut_optimizer":
        path = newest / "optimizer.ckpt"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:  # killed right after creating the meta file
        (newest / "CKPT.yaml").write_text("")
    before = checkpoints[-2][1].name if len(checkpoints) > 1 else None
    return newest.name, before


@pytest.fixture(scope="module")
def steps_per_epoch(small_sed_data):
    """Optimizer steps per epoch of the tiny runs."""
    data = build_datasets(
        small_sed_data["manifest_folder"],
        small_sed_data["data_folder"],
        BATCH,
        classes=small_sed_data["classes"],
    )
    n = len(SubsetBatchSampler([len(d) for d in data["train"].datasets], BATCH))
    assert n >= 3
    return n


def test_sigkill_in_stage1_and_stage2_resumes(
    small_sed_data, recipe_env, tmp_path, steps_per_epoch
):
    rng = random.Random(2026)
    n = steps_per_epoch

    # ---- stage 1: killed at a random time; killed in epoch 2 with the
    # newest checkpoint then cut short: resumes from the one before ----
    out1 = tmp_path / "stage1"
    save1 = out1 / "save"
    cmd1 = train_command(
        1,
        small_sed_data,
        out1,
        batch_sizes=BATCH,
        number_of_epochs=2,
        valid_every=1,
        ckpt_interval_steps=1,
    )
    proc = start(cmd1, recipe_env)
    killed = kill_when(
        proc, lambda: complete_checkpoints(save1), rng.uniform(0.0, 1.5)
    )
    assert killed, "the first run ended before the kill"
    assert loaded_at_start(run_segments(out1 / "log.txt")[0]) is None
    assert not (out1 / "test" / "metrics.json").exists()
    expected = complete_checkpoints(save1)[-1][1].name

    def in_epoch_2():
        """An end-of-epoch checkpoint and a newer intra-epoch one."""
        ckpts = complete_checkpoints(save1)
        return (
            any(meta["end-of-epoch"] for *_, meta in ckpts)
            and not (ckpts[-1][2]["end-of-epoch"])
        )

    proc = start(cmd1, recipe_env)
    killed = kill_when(proc, in_epoch_2, rng.uniform(0.0, 0.3))
    assert killed, "the second run ended before the kill"
    assert loaded_at_start(run_segments(out1 / "log.txt")[-1]) == expected
    damaged, expected = truncate_newest(save1, "cut_optimizer")
    segment = resume_and_check(cmd1, out1, expected)
    assert "optimizer.ckpt is truncated" in segment
    assert not (save1 / damaged).exists()
    check_finished(out1, 2, n)
    # Only the first of the three runs started without a checkpoint.
    log1 = (out1 / "log.txt").read_text()
    assert log1.count("Would load a checkpoint here, but none found yet") == 1

    # ---- stage 2: killed while validating; the newest checkpoint's
    # CKPT.yaml then emptied (a kill just after creating it) -----------
    out2 = tmp_path / "stage2"
    save2 = out2 / "save"
    cmd2 = train_command(
        2,
        small_sed_data,
        out2,
        batch_sizes=BATCH,
        number_of_epochs=1,
        ckpt_interval_steps=1,
        stage1_ckpt=str(out1),
    )

    def validating():
        """The epoch's last step is checkpointed: validation runs now."""
        return any(
            not meta["end-of-epoch"] and brain_step(folder) == n
            for _, folder, meta in complete_checkpoints(save2)
        )

    proc = start(cmd2, recipe_env)
    killed = kill_when(proc, validating, rng.uniform(0.1, 0.6))
    assert killed, "the stage-2 run ended before the kill"
    damaged, expected = truncate_newest(save2, "empty_meta")
    segment = resume_and_check(cmd2, out2, expected)
    assert f"Deleting the incomplete checkpoint {save2 / damaged}" in segment
    assert not (save2 / damaged).exists()
    if expected is None:  # started over from the stage-1 weights
        assert "stage-1 weights from" in segment
    check_finished(out2, 1, n)
