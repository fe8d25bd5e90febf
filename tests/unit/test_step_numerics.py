"""The optimised training step computes what the plain one computes.

Fifty stage-2 steps of the recipe's brain (tiny transformer, 1 s clips,
mixup, ICT, frequency warping, Adam, EMA teacher) run twice from the same
seed: once as the code stands (one multi-tensor ``lerp`` for the EMA
teacher, step statistics summed as tensors and read once per epoch), once
with the plain reference (the official per-parameter ``mul_`` / ``add_``
EMA loop, statistics turned into Python floats at every step). Loss curves,
epoch statistics and final weights agree within float tolerance.

Authors
 * speechbrain-atst team 2026
"""

import sys
import tempfile
from pathlib import Path

import pytest
import torch

from speechbrain_atst.training import brain as brain_module
from speechbrain_atst.training.records import TrainingRecord

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_training import TINY_ATST, build_brain, make_batch  # noqa: E402

STEPS = 50
#: A hundred training steps: with the runs of the recipe.
pytestmark = pytest.mark.slow


@torch.no_grad()
def reference_ema(
    teacher, student, decay, buffers="keep", trainable_only=False
):
    """The official EMA: one ``mul_`` and one ``add_`` per parameter."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        if s.requires_grad or not trainable_only:
            t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
    if buffers == "copy":
        for tb, sb in zip(teacher.buffers(), student.buffers()):
            tb.copy_(sb)


class FloatRecord(TrainingRecord):
    """The per-step statistics read back as Python floats at every step."""

    def add(self, values):
        super().add({k: float(v) for k, v in values.items()})


def train(plain, monkeypatch):
    """Losses of ``STEPS`` steps, the epoch statistics and the teacher."""
    with monkeypatch.context() as patch:
        if plain:
            patch.setattr(brain_module, "ema_update", reference_ema)
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as tmp:
            brain = build_brain(
                2,
                tmp,
                [1, 1, 1, 1],
                atst=TINY_ATST,
                overrides={"train_clip_seconds": 1.0},
            )
            if plain:
                brain.record = FloatRecord()
            losses = []
            for step in range(STEPS):
                brain.step += 1
                batch = make_batch([1, 1, 1, 1], seconds=1.0, seed=step)
                losses.append(float(brain.fit_batch(batch)))
            record = brain.record
            stats = record.epoch_stats(sum(losses) / len(losses))
            teacher = torch.nn.utils.parameters_to_vector(
                brain.raw_teacher.parameters()
            )
    return torch.tensor(losses), stats, teacher, record


@pytest.fixture(scope="module")
def runs():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    patch = pytest.MonkeyPatch()
    try:
        yield train(False, patch), train(True, patch)
    finally:
        patch.undo()
        torch.set_num_threads(old)


def test_same_loss_curve(runs):
    (fast, _, _, _), (plain, _, _, _) = runs
    assert fast.shape == (STEPS,) and torch.isfinite(fast).all()
    assert fast.std() > 0  # the steps differ (mixup, warping, data)
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-6)


def test_same_teacher_and_statistics(runs):
    (_, fast_stats, fast_t, record), (_, plain_stats, plain_t, _) = runs
    torch.testing.assert_close(fast_t, plain_t, rtol=1e-4, atol=1e-6)
    assert fast_stats.keys() == plain_stats.keys()
    for key, value in fast_stats.items():
        if key != "seconds":
            assert value == pytest.approx(plain_stats[key], rel=1e-4), key
    # The optimised record kept the losses as tensors (no host sync).
    for key in ("loss_strong", "loss_weak", "loss_self"):
        assert torch.is_tensor(record.sums[key][0]), key
    assert record.sums["loss_self"][1] == STEPS
