"""The quickstart pipeline: its steps in order, each skipped when done.

:func:`run_quickstart` runs the steps of :data:`~speechbrain_atst.
quickstart.layout.STEPS` in one output folder; a step whose outputs exist
is skipped, so rerunning finishes the work left (a training stage
interrupted during training resumes from its last checkpoint). The time of
each step is recorded in ``timings.json`` when it finishes, so the summary
of a rerun still shows what the skipped steps took.

Authors
 * speechbrain-atst team 2026
"""

import datetime
import time

from speechbrain_atst.quickstart.baseline import run_untrained
from speechbrain_atst.quickstart.dataset import run_prepare, run_synth
from speechbrain_atst.quickstart.layout import (
    DEFAULT_OUT_DIR,
    STEPS,
    baseline_done,
    detect_done,
    model_done,
    output_layout,
    plot_path,
    read_json,
    stage_done,
    synth_done,
    write_json,
)
from speechbrain_atst.quickstart.model import (
    detection_clip,
    run_detect,
    run_export,
)
from speechbrain_atst.quickstart.recipe import (
    quickstart_overrides,
    recipe_dir,
    stage_overrides,
    transformer_arch,
)
from speechbrain_atst.quickstart.stages import run_stage
from speechbrain_atst.quickstart.summary import (
    collect_results,
    summary_text,
    write_summary,
)

#: Default dataset size (see ``speechbrain_atst.data.synth.SCALES``).
DEFAULT_SCALE = "quickstart"
#: Default training seed (the recipe's).
DEFAULT_SEED = 42
#: Default seed of the synthesized dataset.
DEFAULT_DATA_SEED = 0


def default_device():
    """``cuda:0`` when a GPU is usable, else ``cpu``.

    Returns
    -------
    str
        The device.

    Example
    -------
    >>> default_device() in ("cpu", "cuda:0")
    True
    """
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


class StepRunner:
    """Runs steps in order, skipping those done, and times them.

    Arguments
    ---------
    timings_path : str or os.PathLike
        ``timings.json``: the time of each step when it was done, read at
        the start and updated after each step run.

    Example
    -------
    >>> path = getfixture("tmp_path") / "timings.json"
    >>> step = StepRunner(path)
    >>> step("synth", False, lambda: None)
    <BLANKLINE>
    [1/7] Synthesize a mini-DESED
    >>> StepRunner(path)("synth", True, lambda: None)
    <BLANKLINE>
    [1/7] Synthesize a mini-DESED
        already done: skipped
    >>> step.timings["synth"]["skipped"], "synth" in read_json(path)
    (False, True)
    """

    def __init__(self, timings_path):
        self.timings_path = timings_path
        self.recorded = read_json(timings_path) or {}
        #: ``{step: {"seconds": float, "skipped": bool}}`` of this run.
        self.timings = {}

    def __call__(self, name, done, action):
        """Runs ``action`` unless ``done``, then records its time.

        Arguments
        ---------
        name : str
            A key of ``STEPS``.
        done : bool
            Whether the step's outputs exist.
        action : callable
            Runs the step.
        """
        index = list(STEPS).index(name) + 1
        print(f"\n[{index}/{len(STEPS)}] {STEPS[name]}", flush=True)
        if done:
            print("    already done: skipped", flush=True)
            previous = self.recorded.get(name, {}).get("seconds")
            self.timings[name] = {"seconds": previous, "skipped": True}
            return
        t0 = time.perf_counter()
        action()
        seconds = round(time.perf_counter() - t0, 1)
        self.timings[name] = {"seconds": seconds, "skipped": False}
        finished = datetime.datetime.now().isoformat(timespec="seconds")
        self.recorded[name] = {"seconds": seconds, "finished": finished}
        write_json(self.timings_path, self.recorded)


def banner(layout, device, scale, seed, arch):
    """The first line printed: where, on what, with which transformer.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    device : str
        The device.
    scale : str or float
        Dataset size.
    seed : int
        Training seed.
    arch : dict
        ``embed_dim``, ``depth``, ``num_heads``.

    Returns
    -------
    str
        The text.

    Example
    -------
    >>> arch = {"embed_dim": 64, "depth": 2, "num_heads": 4}
    >>> banner(output_layout("qs"), "cpu", 0.5, 42, arch)[:44]
    'ATST-SED quickstart in qs on cpu: scale 0.5,'
    """
    return (
        f"ATST-SED quickstart in {layout['root']} on {device}: scale "
        f"{scale}, seed {seed}. The ATST-Frame transformer is a SMALL one "
        f"({arch['embed_dim']}-dim, {arch['depth']} blocks, "
        f"{arch['num_heads']} heads) INITIALISED AT RANDOM (no pretrained "
        "checkpoint is downloaded)."
    )


def run_steps(layout, scale, seed, data_seed, device, overrides, step):
    """Runs every step (those done are skipped).

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    scale : str or float
        Dataset size.
    seed, data_seed : int
        Training and dataset seeds.
    device : str
        The device.
    overrides : dict
        ``{1: overrides, 2: overrides}`` of the stages.
    step : StepRunner
        Runs and times each step.

    Returns
    -------
    pathlib.Path
        The clip of the detect step.
    """
    data, manifests = layout["data"], layout["manifests"]
    step(
        "synth",
        synth_done(data, scale, data_seed),
        lambda: run_synth(data, scale, data_seed),
    )
    # prepare_desed reuses manifests that are up to date with the data.
    step("prepare", False, lambda: run_prepare(data, manifests))
    for stage in (1, 2):
        step(
            f"stage{stage}",
            stage_done(layout[f"stage{stage}"]),
            lambda stage=stage: run_stage(
                stage, layout, seed, device, overrides[stage]
            ),
        )
    step(
        "untrained",
        baseline_done(layout),
        lambda: run_untrained(layout, seed, device, overrides[1]),
    )
    step("export", model_done(layout), lambda: run_export(layout))
    clip = detection_clip(manifests, data)
    step(
        "detect",
        detect_done(layout, clip),
        lambda: run_detect(layout, clip, device),
    )
    return clip


def run_quickstart(
    out_dir=DEFAULT_OUT_DIR,
    scale=DEFAULT_SCALE,
    seed=DEFAULT_SEED,
    data_seed=DEFAULT_DATA_SEED,
    device=None,
    stage1_epochs=None,
    stage2_epochs=None,
    overrides=None,
):
    """Runs the quickstart pipeline (see :mod:`speechbrain_atst.quickstart`).

    Arguments
    ---------
    out_dir : str or os.PathLike
        Folder of every output.
    scale : str or float
        Size of the synthesized dataset (``"quickstart"``, ``"small"``,
        ``"benchmark"`` or a multiplier of the ``"small"`` sizes).
    seed : int
        Training seed (also the untrained model's).
    data_seed : int
        Seed of the synthesized dataset.
    device : str, optional
        ``cpu``, ``cuda:0``... (default: a GPU if there is one).
    stage1_epochs, stage2_epochs : int, optional
        Epochs of each stage (default: ``hparams/quickstart.yaml``).
    overrides : dict, optional
        More recipe overrides for both stages (``{name: value}``).

    Returns
    -------
    dict
        The summary (also written to ``summary.json``): ``results``
        (see :func:`~speechbrain_atst.quickstart.summary.collect_results`),
        ``timings``, ``total_seconds``, ``outputs``, ``arch``, ``device``,
        ``scale``, ``seed``, ``data_seed``, ``text``.
    """
    t_start = time.perf_counter()
    layout = output_layout(out_dir)
    layout["root"].mkdir(parents=True, exist_ok=True)
    device = device or default_device()
    overrides = quickstart_overrides(overrides)
    arch = transformer_arch(overrides)
    print(banner(layout, device, scale, seed, arch), flush=True)
    recipe_dir()  # fails early if the recipe is not installed
    data_seed = int(data_seed)
    step = StepRunner(layout["timings"])
    clip = run_steps(
        layout,
        scale,
        seed,
        data_seed,
        device,
        stage_overrides(overrides, {1: stage1_epochs, 2: stage2_epochs}),
        step,
    )
    total = time.perf_counter() - t_start
    results = collect_results(layout)
    text = summary_text(layout, results, step.timings, arch, total)
    outputs = {k: str(v) for k, v in layout.items()}
    outputs["plot"] = str(plot_path(layout, clip))
    outputs["detect_clip"] = str(clip)
    summary = {
        "results": results,
        "timings": step.timings,
        "total_seconds": round(total, 1),
        "outputs": outputs,
        "arch": arch,
        "device": device,
        "scale": scale,
        "seed": seed,
        "data_seed": data_seed,
        "text": text,
    }
    write_summary(layout, summary)
    print("\n" + text, flush=True)
    return summary
