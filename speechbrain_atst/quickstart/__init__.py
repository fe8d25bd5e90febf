"""The quickstart: the whole ATST-SED pipeline on a synthesized mini-DESED.

``speechbrain-atst quickstart`` runs, in one output folder (default
``./atst_quickstart``), the steps a user runs on DESED, through the same
library code:

1. ``synth``: a synthesized mini-DESED in the DESED layout
   (:func:`~speechbrain_atst.data.synth.synthesize_mini_desed`);
2. ``prepare``: its manifests and ground-truth TSVs
   (:func:`~speechbrain_atst.data.desed.prepare_desed`);
3. ``stage1`` and ``stage2``: the training recipe
   ``recipes/DESED/SED/train.py`` with ``hparams/stage1.yaml`` and
   ``hparams/stage2.yaml`` plus the overrides of
   ``hparams/quickstart.yaml`` (a small transformer initialised at random,
   short training windows, a few epochs), run as subprocesses whose output
   (SpeechBrain's progress bars) is streamed and logged. Stage 2 starts
   from the best stage-1 checkpoint. Each run ends with the recipe's test
   pass on the synthetic "real" validation split (``test/metrics.json``);
4. ``untrained``: the same metrics for the untrained model (the stage-1
   starting weights: same architecture, random initialisation with the
   run's seed), the baseline every trained model is compared with;
5. ``export`` and ``detect``: the stage-2 teacher published as a model
   folder (:func:`~speechbrain_atst.inference.export_run`), then the
   events of a validation clip (events TSV and PNG) with
   :func:`~speechbrain_atst.inference.detect_files`, the function behind
   ``speechbrain-atst detect``;
6. a summary table (``summary.txt``, ``summary.json``).

Every step is skipped when its outputs exist, so rerunning the command
finishes the work left (a stage interrupted during training resumes from
its last checkpoint).

Modules: ``layout`` (output paths, which steps are done), ``recipe`` (the
shipped recipe: folder, overrides, command line), ``process`` (a streamed
and logged subprocess), ``dataset`` (synth, prepare), ``stages`` (the
training stages), ``baseline`` (the untrained model), ``model`` (export,
detect), ``train_log`` (SpeechBrain's train log read back), ``summary``
(the table) and ``run`` (the steps in order, with resume).

Example
-------
>>> from speechbrain_atst.quickstart import run_quickstart
>>> summary = run_quickstart("atst_quickstart")  # doctest: +SKIP
>>> print(summary["text"])  # doctest: +SKIP

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.quickstart.layout import (
    DEFAULT_OUT_DIR,
    STEPS,
    QuickstartError,
    output_layout,
    stage_done,
    synth_done,
)
from speechbrain_atst.quickstart.recipe import (
    OVERRIDES_FILE,
    quickstart_overrides,
    recipe_dir,
    stage_command,
)
from speechbrain_atst.quickstart.run import (
    DEFAULT_DATA_SEED,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    default_device,
    run_quickstart,
)
from speechbrain_atst.quickstart.summary import collect_results, summary_text
from speechbrain_atst.quickstart.train_log import (
    read_train_log,
    training_speed,
)

__all__ = [
    "DEFAULT_DATA_SEED",
    "DEFAULT_OUT_DIR",
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "OVERRIDES_FILE",
    "STEPS",
    "QuickstartError",
    "collect_results",
    "default_device",
    "output_layout",
    "quickstart_overrides",
    "read_train_log",
    "recipe_dir",
    "run_quickstart",
    "stage_command",
    "stage_done",
    "summary_text",
    "synth_done",
    "training_speed",
]
