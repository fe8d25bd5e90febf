"""Runs the training recipe with non-finite values injected (tests only).

Usage: ``python inject_nan.py train.py <recipe arguments>`` with

* ``NAN_AUDIO_AT``: comma-separated indices (from 1) of the training
  clips, in loading order, whose waveform becomes NaN (the paths are
  appended to the file ``NAN_LOG``), as a decoder glitch would do;
* ``NAN_WEIGHT_AT``: an optimizer step after which one student weight is
  set to NaN (a diverged update that the loss check could not see).

The tests call :func:`install` with these settings and pytest's
``monkeypatch.setattr``, then run the recipe in their own process.

Authors
 * speechbrain-atst team 2026
"""

import os
import runpy
import sys


def install(environ=None, patch=setattr):
    """Patches the data pipeline and the brain as the settings say.

    Arguments
    ---------
    environ : dict, optional
        ``NAN_AUDIO_AT``, ``NAN_LOG``, ``NAN_WEIGHT_AT`` (default: the
        environment variables).
    patch : callable
        ``patch(object, name, value)`` sets an attribute
        (``monkeypatch.setattr`` undoes it after a test).
    """
    import torch

    import speechbrain_atst.training.dataio as dataio
    from speechbrain_atst.training.brain import SEDBrain

    environ = dict(os.environ if environ is None else environ)
    audio_at = {int(i) for i in environ.get("NAN_AUDIO_AT", "").split(",") if i}
    load_clip = dataio.load_clip
    loaded = [0]

    def poisoned_load_clip(path, *args, **kwargs):
        """``load_clip`` returning NaN for the chosen training clips."""
        wav, start = load_clip(path, *args, **kwargs)
        if kwargs.get("random_crop", args[-1] if args else False):
            loaded[0] += 1
            if loaded[0] in audio_at:
                with open(environ["NAN_LOG"], "a", encoding="utf-8") as f:
                    f.write(f"{path}\n")
                wav = torch.full_like(wav, float("nan"))
        return wav, start

    patch(dataio, "load_clip", poisoned_load_clip)

    weight_at = int(environ.get("NAN_WEIGHT_AT", "0"))
    optimizers_step = SEDBrain.optimizers_step

    def poisoned_step(self):
        """The optimizer step, then a NaN weight after step ``weight_at``."""
        optimizers_step(self)
        if weight_at and self.optimizer_step == weight_at:
            with torch.no_grad():
                self.raw_student.dense.bias[0] = float("nan")

    patch(SEDBrain, "optimizers_step", poisoned_step)


if __name__ == "__main__":
    install()
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
