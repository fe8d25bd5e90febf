"""Tests of the DDP helpers of training, in a one-process gloo group.

The two-process recipe run is tests/integration/test_ddp.py.

Authors
 * speechbrain-atst team 2026
"""

import pytest
import torch

from speechbrain_atst.training import distributed


@pytest.fixture
def process_group(tmp_path):
    """A one-process gloo group, destroyed afterwards."""
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    yield
    torch.distributed.destroy_process_group()


def test_without_a_group_everything_is_local():
    assert distributed.rank() == 0 and distributed.world_size() == 1
    assert distributed.all_processes_agree(True, "cpu")
    assert not distributed.all_processes_agree(False, "cpu")
    distributed.barrier()
    distributed.broadcast_buffers(torch.nn.BatchNorm1d(2))


def test_only_trainable_modules_are_wrapped(process_group):
    student = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)
    )
    teacher = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)
    )
    teacher.requires_grad_(False)
    modules = torch.nn.ModuleDict({"student": student, "teacher": teacher})
    distributed.wrap_trainable(modules, "cpu", True, False, also_sync=[teacher])
    assert isinstance(
        modules["student"], torch.nn.parallel.DistributedDataParallel
    )
    assert modules["teacher"] is teacher
    # No SyncBatchNorm on the CPU (gloo cannot run it).
    assert isinstance(modules["student"].module[1], torch.nn.BatchNorm1d)
    assert not isinstance(teacher[1], torch.nn.SyncBatchNorm)
    assert distributed.world_size() == 1
    assert distributed.all_processes_agree(True, "cpu")
    distributed.broadcast_buffers(teacher)
