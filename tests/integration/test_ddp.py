"""Two-process DDP training (torchrun, gloo on CPU) runs and checkpoints.

Authors
 * speechbrain-atst team 2026
"""

import json
import socket

import pytest
import torch
from recipe_utils import logged_values, run, tail, train_command
from speechbrain.utils.checkpoints import Checkpointer

#: Runs the recipe in two torchrun processes.
pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stage2_on_two_processes(small_sed_data, recipe_env, tmp_path):
    out = tmp_path / "ddp"
    cmd = train_command(
        2,
        small_sed_data,
        out,
        nproc=2,
        port=_free_port(),
        stage1_ckpt=None,
        number_of_epochs=1,
        batch_sizes=[1, 1, 2, 2],
        warp_prob=1.0,
        mixup_prob=1.0,
    )
    proc = run(cmd, recipe_env)
    assert proc.returncode == 0, tail(proc)
    log = (out / "log.txt").read_text()
    assert "2 processes" in log
    # Per process: 2 batches of [1, 1, 2, 2] (the smallest subset, 4 real
    # strong clips, split between 2 processes).
    assert logged_values(out / "train_log.txt", "step") == [2.0]
    assert logged_values(out / "train_log.txt", "train ict_steps") == [1.0]
    ckpt = Checkpointer(out / "save").find_checkpoint(max_key="objective")
    assert ckpt is not None
    for name in ("student", "teacher", "optimizer", "counter", "brain"):
        assert name in ckpt.paramfiles
    state = torch.load(ckpt.paramfiles["student"], weights_only=True)
    assert "cnn.cnn.conv0.weight" in state  # raw module, no "module." prefix
    teacher = torch.load(ckpt.paramfiles["teacher"], weights_only=True)
    assert not torch.equal(state["dense.weight"], teacher["dense.weight"])
    metrics = json.loads((out / "test" / "metrics.json").read_text())
    assert set(metrics) >= {"student", "teacher"}
