"""Tests of the handling of non-finite losses, gradients and weights.

The training step of a brain (:class:`NonFiniteGuard`) is tested on a tiny
``Brain`` here and on SEDBrain in test_brain_losses.py; the recipe runs in
tests/reliability/test_nonfinite_training.py.

Authors
 * speechbrain-atst team 2026
"""

import logging
from types import SimpleNamespace

import pytest
import speechbrain as sb
import torch

from speechbrain_atst.training.nonfinite import (
    NonFiniteGuard,
    check_finite_weights,
    check_nonfinite_action,
    is_finite_everywhere,
    nonfinite_inputs,
    nonfinite_loss_report,
    restore_buffers,
    skip_or_stop,
    snapshot_buffers,
)


def test_actions():
    assert check_nonfinite_action("stop") == "stop"
    with pytest.raises(ValueError, match="got 'ignore'"):
        check_nonfinite_action("ignore")


def test_skip_until_patience_then_stop(caplog):
    with caplog.at_level(logging.WARNING):
        skip_or_stop("Bad.", "skip", 2, 2)
    assert "Bad. The update was skipped." in caplog.text
    with pytest.raises(ValueError, match="3 non-finite losses this epoch"):
        skip_or_stop("Bad.", "skip", 3, 2)
    with pytest.raises(ValueError, match="nonfinite_action=stop"):
        skip_or_stop("Bad.", "stop", 1, 10)


def test_buffers_are_restored():
    bn = torch.nn.BatchNorm1d(2)
    saved = snapshot_buffers(bn)
    bn(torch.full((4, 2), float("nan")))
    assert torch.isnan(bn.running_mean).all()
    restore_buffers(saved)
    assert torch.equal(bn.running_mean, torch.zeros(2))
    assert int(bn.num_batches_tracked) == 0


def test_report_names_clips_and_bad_inputs():
    sig = torch.ones(3, 8)
    sig[1, 2] = float("inf")
    bad = nonfinite_inputs(sig, ["a.wav", "b.wav", "c.wav"], [torch.log])
    assert bad == "b.wav"
    ids = [f"clip{i}" for i in range(25)]
    message = nonfinite_loss_report(torch.tensor(float("inf")), ids, 4, 3, bad)
    assert message.startswith("Non-finite training loss (inf) at epoch step 4")
    assert "clip19 ..." in message and "clip20" not in message
    assert message.endswith("Non-finite input audio or features: b.wav.")
    assert is_finite_everywhere(torch.tensor(2.0), "cpu")
    assert not is_finite_everywhere(torch.tensor(float("nan")), "cpu")


def test_weights_are_checked_with_buffers():
    model = torch.nn.BatchNorm1d(2)
    check_finite_weights({"teacher": model}, 1, 1)
    model.running_var[0] = float("nan")
    with pytest.raises(FloatingPointError, match="teacher's running_var"):
        check_finite_weights({"teacher": model}, 5, 4)


class _TinyBrain(NonFiniteGuard, sb.Brain):
    """A linear model trained through the guarded step."""

    def guarded_models(self):
        return {"model": self.modules.model}

    def compute_forward(self, batch, stage):
        return self.modules.model(batch.sig.data)

    def compute_objectives(self, predictions, batch, stage):
        return predictions.mean() * self.hparams.scale


def _tiny(tmp_path, scale, action="skip"):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    brain = _TinyBrain(
        modules={
            "model": model,
            "cnn_features": torch.nn.Identity(),
            "atst_features": torch.nn.Identity(),
        },
        opt_class=lambda params: torch.optim.SGD(params, lr=0.1),
        hparams={"scale": scale, "nonfinite_action": action},
        run_opts={"device": "cpu", "noprogressbar": True},
    )
    brain.init_optimizers()
    brain.nonfinite_count = 0
    brain.step = 1
    return brain


def _batch():
    return SimpleNamespace(
        sig=SimpleNamespace(data=torch.randn(4, 2)),
        id=["a", "b", "c", "d"],
        wav=["a.wav", "b.wav", "c.wav", "d.wav"],
    )


def test_guarded_step_trains_skips_and_stops(tmp_path):
    brain = _tiny(tmp_path, 1.0)
    brain.fit_batch(_batch())
    assert brain.optimizer_step == 1 and not brain.step_skipped
    assert brain.last_grad_norm > 0
    # A NaN loss: no update, statistics untouched, counted.
    nan = _tiny(tmp_path, float("nan"))
    state = {k: v.clone() for k, v in nan.modules.model.state_dict().items()}
    loss = nan.fit_batch(_batch())
    assert torch.isnan(loss) and nan.step_skipped
    assert nan.optimizer_step == 0 and nan.nonfinite_count == 1
    for key, value in nan.modules.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    stop = _tiny(tmp_path, float("inf"), action="stop")
    with pytest.raises(ValueError, match="the batch held: a, b, c, d"):
        stop.fit_batch(_batch())


def test_nonfinite_gradient_skips_the_update(tmp_path):
    brain = _tiny(tmp_path, 1.0)
    before = [p.clone() for p in brain.modules.model.parameters()]

    def inf_grad(grad):
        return torch.full_like(grad, float("inf"))

    brain.modules.model[0].weight.register_hook(inf_grad)
    brain.fit_batch(_batch())
    assert brain.step_skipped and brain.optimizer_step == 0
    for b, p in zip(before, brain.modules.model.parameters()):
        assert torch.equal(b, p)
