"""Pins the SpeechBrain behaviour SEDBrain relies on.

:mod:`speechbrain_atst.training.sb_adapter` overrides three private
methods of ``speechbrain.core.Brain``, and the brain's training step
(:class:`~speechbrain_atst.training.nonfinite.NonFiniteGuard`) reuses
attributes of ``Brain``. These tests check, on a tiny brain, that
SpeechBrain still has those methods with the same signatures and calls
them as described; a SpeechBrain upgrade that changes them fails here
first. Checked with SpeechBrain 1.1.0, 1.1.1 and 1.1.2.

Authors
 * speechbrain-atst team 2026
"""

import inspect

import speechbrain as sb
import torch
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_atst.training.brain import SEDBrain
from speechbrain_atst.training.nonfinite import NonFiniteGuard
from speechbrain_atst.training.sb_adapter import SpeechBrainAdapter


class TinyBrain(SpeechBrainAdapter, sb.Brain):
    """A linear regression through the adapter, recording the calls."""

    def __init__(self, *args, **kwargs):
        self.calls = []
        super().__init__(*args, **kwargs)

    def compute_forward(self, batch, stage):
        return self.modules.model(batch[0])

    def compute_objectives(self, predictions, batch, stage):
        return torch.nn.functional.mse_loss(predictions, batch[1])

    def on_stage_start(self, stage, epoch=None):
        self.calls.append((stage.name, epoch))

    def is_valid_epoch(self, epoch):
        return epoch % 2 == 0

    def check_finite_weights(self):
        self.calls.append(("check", self.step))

    def init_optimizers(self):
        self.calls.append("init_optimizers")
        super().init_optimizers()

    def wrap_distributed(self):
        self.calls.append("wrap_distributed")


def _loader(n=4):
    data = torch.utils.data.TensorDataset(torch.randn(n, 2), torch.randn(n, 1))
    return torch.utils.data.DataLoader(data, batch_size=2)


def _brain(tmp_path, **run_opts):
    model = torch.nn.Linear(2, 1)
    return TinyBrain(
        modules={"model": model},
        opt_class=lambda params: torch.optim.SGD(params, lr=0.01),
        run_opts={"device": "cpu", "noprogressbar": True, **run_opts},
        checkpointer=Checkpointer(tmp_path, {"model": model}),
    )


def test_private_methods_keep_their_signatures():
    def params(method):
        return list(inspect.signature(method).parameters)

    assert params(sb.Brain._fit_valid) == [
        "self",
        "valid_set",
        "epoch",
        "enable",
    ]
    assert params(sb.Brain._save_intra_epoch_ckpt) == ["self"]
    assert params(sb.Brain._wrap_distributed) == ["self"]
    # SEDBrain takes the adapter's versions, and the guarded step.
    for name in ("_fit_valid", "_save_intra_epoch_ckpt", "_wrap_distributed"):
        assert getattr(SEDBrain, name) is getattr(SpeechBrainAdapter, name)
    for name in ("fit_batch", "optimizers_step"):
        assert getattr(SEDBrain, name) is getattr(NonFiniteGuard, name)


def test_fit_validates_through_fit_valid_once_per_epoch(tmp_path):
    brain = _brain(tmp_path)
    brain.fit(EpochCounter(4), _loader(), _loader())
    stages = [
        c for c in brain.calls if isinstance(c, tuple) and c[0] != "check"
    ]
    # Brain.fit calls _fit_valid after every epoch; the adapter validates
    # only when is_valid_epoch says so.
    assert stages == [
        ("TRAIN", 1),
        ("TRAIN", 2),
        ("VALID", 2),
        ("TRAIN", 3),
        ("TRAIN", 4),
        ("VALID", 4),
    ]


def test_intra_epoch_checkpoints_check_the_weights_first(tmp_path, monkeypatch):
    brain = _brain(tmp_path, ckpt_interval_steps=1)
    saved = []
    save = brain.checkpointer.save_and_keep_only

    def spy(*args, **kwargs):
        saved.append(brain.calls[-1])
        return save(*args, **kwargs)

    monkeypatch.setattr(brain.checkpointer, "save_and_keep_only", spy)
    brain.fit(EpochCounter(2), _loader(), None)
    # One check before each intra-epoch checkpoint (every step).
    checks = [
        c for c in brain.calls if isinstance(c, tuple) and c[0] == "check"
    ]
    assert checks == [("check", 1), ("check", 2)] * 2
    assert saved == checks
    assert brain.nonfinite_count == 0  # reset by Brain every epoch


def test_wrapping_happens_in_on_fit_start_before_the_optimizer(tmp_path):
    brain = _brain(tmp_path)
    calls = []
    monkey = sb.Brain._wrap_distributed

    def spy(self):
        calls.append("_wrap_distributed")
        return monkey(self)

    try:
        sb.Brain._wrap_distributed = spy
        brain.on_fit_start()
    finally:
        sb.Brain._wrap_distributed = monkey
    # Without DDP the adapter defers to SpeechBrain's (DataParallel / none).
    assert calls == ["_wrap_distributed"]
    assert brain.calls == ["init_optimizers"]
    # Under DDP, Brain.on_fit_start's wrapping is the brain's own.
    brain = _brain(tmp_path)
    brain.distributed_launch = True
    brain.on_fit_start()
    assert brain.calls == ["wrap_distributed", "init_optimizers"]


def test_on_fit_start_resumes_from_the_latest_checkpoint(tmp_path):
    brain = _brain(tmp_path)
    brain.fit(EpochCounter(1), _loader(), None)
    brain.checkpointer.save_checkpoint()
    weights = brain.modules.model.weight.detach().clone()
    again = _brain(tmp_path)
    assert not torch.equal(again.modules.model.weight, weights)
    again.on_fit_start()
    assert torch.equal(again.modules.model.weight, weights)


def test_brain_attributes_of_the_guarded_step(tmp_path):
    brain = _brain(tmp_path, max_grad_norm=0.0, nonfinite_patience=3)
    for name in ("no_sync", "training_ctx", "scaler", "freeze_optimizers"):
        assert hasattr(brain, name), name
    assert brain.max_grad_norm == 0.0 and brain.nonfinite_patience == 3
    assert brain.grad_accumulation_factor == 1
    assert brain.device == "cpu" and brain.optimizer_step == 0
