"""Fine-tuning on your own sounds, end to end: ``speechbrain-atst finetune``.

Runs the own-data recipe (``recipes/Custom/SED/train.py``, shipped with the
package) on a folder written by ``speechbrain-atst prepare-custom``, then
publishes the result:

* ``RUN_DIR/runs/finetune/`` (and ``runs/stage1/`` when starting from the
  pretrained transformer alone): the recipe's runs (checkpoints, train
  log, test scores); rerunning the command resumes them;
* ``RUN_DIR/metrics.json``: PSDS1, PSDS2, intersection and collar F1 (macro
  and per class) of student and teacher on the held-out files, the data
  and the initial model;
* ``RUN_DIR/model/``: the teacher as a model folder
  (``SEDInterface.from_hparams`` and ``speechbrain-atst detect`` load it),
  with a model card stating the data and the held-out metrics;
* ``RUN_DIR/logs/``: the recipe's output.

The transformer size is read from the initial model and passed to the
recipe; the class list is the prepared folder's.

Authors
 * speechbrain-atst team 2026
"""

import json
import shlex
import sys
from pathlib import Path

from speechbrain_atst.inference.export import export_run
from speechbrain_atst.quickstart.process import stream_command
from speechbrain_atst.quickstart.stages import child_env
from speechbrain_atst.resources import CUSTOM_RECIPE, shipped_path
from speechbrain_atst.training.own_data import read_dataset_summary
from speechbrain_atst.training.recipe_args import to_arguments
from speechbrain_atst.training.records import MODELS
from speechbrain_atst.training.testing import METRICS_FILE, TEST_FOLDER
from speechbrain_atst.training.transfer import init_source

#: Metrics of each model in the printed summary.
SUMMARY_METRICS = (
    ("PSDS1", "psds1"),
    ("PSDS2", "psds2"),
    ("Intersection F1", "intersection_f1_macro"),
    ("Collar F1", "collar_f1_macro"),
)
#: The base transformer (official checkpoints do not store the heads).
BASE_ARCH = {"embed_dim": 768, "depth": 12, "num_heads": 12}


class FinetuneError(RuntimeError):
    """A fine-tuning stage failed (its log names the cause)."""


def recipe_dir():
    """The own-data recipe folder (package data or source checkout).

    Returns
    -------
    pathlib.Path
        The folder holding ``train.py`` and ``hparams/``.

    Example
    -------
    >>> (recipe_dir() / "hparams" / "finetune.yaml").is_file()
    True
    """
    return shipped_path(*CUSTOM_RECIPE)


def recipe_arch(source):
    """The transformer size the recipe must build for ``source``.

    Arguments
    ---------
    source : dict
        See :func:`~speechbrain_atst.training.transfer.init_source`.

    Returns
    -------
    dict
        ``embed_dim``, ``depth`` and ``num_heads`` (not stored in
        checkpoints: ``embed_dim // 64``, as the released models).

    Example
    -------
    >>> recipe_arch({"arch": {"embed_dim": 128, "depth": 2, "num_heads": None}})
    {'embed_dim': 128, 'depth': 2, 'num_heads': 2}
    """
    arch = dict(BASE_ARCH)
    arch.update({k: v for k, v in (source.get("arch") or {}).items() if v})
    if not (source.get("arch") or {}).get("num_heads"):
        arch["num_heads"] = max(1, arch["embed_dim"] // 64)
    return arch


def stage_plan(source, run_dir):
    """The recipe runs of a fine-tuning: ``[(name, hparams file, init)]``.

    Arguments
    ---------
    source : dict
        See :func:`~speechbrain_atst.training.transfer.init_source`.
    run_dir : pathlib.Path
        The output folder of the fine-tuning.

    Returns
    -------
    list of tuple
        Stage 1 then fine-tuning from the pretrained transformer alone;
        the fine-tuning alone from a trained SED model.

    Example
    -------
    >>> from pathlib import Path
    >>> [s[0] for s in stage_plan({"kind": "model", "path": "m"}, Path("r"))]
    ['finetune']
    >>> plan = stage_plan({"kind": "atst_checkpoint", "path": "a"}, Path("r"))
    >>> [(name, init) for name, _, init in plan]
    [('stage1', 'a'), ('finetune', 'r/runs/stage1')]
    """
    runs = Path(run_dir) / "runs"
    plan = []
    init = source["path"]
    if source["kind"] == "atst_checkpoint":
        plan.append(("stage1", "stage1.yaml", init))
        init = str(runs / "stage1")
    plan.append(("finetune", "finetune.yaml", init))
    return plan


def stage_command(hparams_file, prepared, init, output, arch, device, options):
    """The command line of one recipe run.

    Arguments
    ---------
    hparams_file : str
        ``stage1.yaml`` or ``finetune.yaml``.
    prepared : str
        The prepared data folder.
    init : str
        The initial model.
    output : str
        The run's output folder.
    arch : dict
        Transformer size.
    device : str
        ``cpu`` or ``cuda``...
    options : dict
        Other overrides (``epochs``, ``batch_size``, ``trust_checkpoint``...).

    Returns
    -------
    list of str
        ``[python, train.py, hparams/..., --key=value, ...]``.
    """
    recipe = recipe_dir()
    cmd = [
        sys.executable,
        str(recipe / "train.py"),
        str(recipe / "hparams" / hparams_file),
        f"--data_folder={Path(prepared).resolve()}",
        f"--init_model={Path(init).resolve()}",
        f"--output_folder={Path(output).resolve()}",
        f"--device={device}",
    ]
    cmd += to_arguments({f"atst_{key}": value for key, value in arch.items()})
    cmd += to_arguments({k: v for k, v in options.items() if v is not None})
    return cmd


def _data_card(summary):
    """Markdown table of the training data for the model card."""
    lines = ["| Part | Files | Hours |", "| --- | --- | --- |"]
    for name, part in summary.get("subsets", {}).items():
        lines.append(
            f"| {name} | {part.get('files', 0)} | "
            f"{float(part.get('hours', 0.0)):.3f} |"
        )
    per_class = summary.get("per_class", {})
    if per_class:
        keys = list(next(iter(per_class.values())))
        lines += [
            "",
            "| Class | " + " | ".join(keys) + " |",
            "| --- |" + " --- |" * len(keys),
        ]
        for name, counts in per_class.items():
            lines.append(
                f"| {name} | "
                + " | ".join(str(counts.get(k, 0)) for k in keys)
                + " |"
            )
    return "\n".join(lines)


def summary_table(metrics):
    """The printed summary of the held-out metrics.

    Arguments
    ---------
    metrics : dict
        ``{"student": {...}, "teacher": {...}}`` (test metrics).

    Returns
    -------
    str
        A text table: one row per metric, one column per model, then the
        teacher's F1 per class.

    Example
    -------
    >>> m = {
    ...     "psds1": 0.5,
    ...     "psds2": 0.6,
    ...     "intersection_f1_macro": 0.7,
    ...     "collar_f1_macro": 0.4,
    ...     "intersection_f1_per_class": {"a": 0.7},
    ... }
    >>> print(summary_table({"student": m, "teacher": m}))
    Held-out files       student   teacher
    PSDS1                 0.5000    0.5000
    PSDS2                 0.6000    0.6000
    Intersection F1       0.7000    0.7000
    Collar F1             0.4000    0.4000
    Teacher, per class: intersection F1
      a                   0.7000
    """
    lines = [f"{'Held-out files':<18} {'student':>9} {'teacher':>9}"]
    for label, key in SUMMARY_METRICS:
        cells = []
        for who in MODELS:
            value = metrics.get(who, {}).get(key)
            cells.append("-" if value is None else f"{value:.4f}")
        lines.append(f"{label:<18} {cells[0]:>9} {cells[1]:>9}")
    per_class = metrics.get("teacher", {}).get("intersection_f1_per_class")
    if per_class:
        lines.append("Teacher, per class: intersection F1")
        for name, value in per_class.items():
            lines.append(f"  {name:<18} {value:.4f}")
    return "\n".join(lines)


def finetune(
    prepared,
    init,
    run_dir,
    epochs=None,
    device="cpu",
    batch_size=None,
    trust_checkpoint=False,
    overrides=None,
    out=None,
):
    """Fine-tunes ATST-SED on a prepared dataset and exports the model.

    Arguments
    ---------
    prepared : str or os.PathLike
        Folder written by ``speechbrain-atst prepare-custom``.
    init : str or os.PathLike
        Initial model (see :mod:`speechbrain_atst.training.transfer`).
    run_dir : str or os.PathLike
        Output folder.
    epochs : int, optional
        Epochs of each stage (default: scaled with the data).
    device : str
        Training device.
    batch_size : int, optional
        Clips per batch (the recipe's default otherwise).
    trust_checkpoint : bool
        Allow full unpickling of official (Lightning) checkpoints.
    overrides : dict, optional
        More recipe overrides (``{key: value}``).
    out : file, optional
        Where the recipe's output and the summary go (``sys.stdout``).

    Returns
    -------
    dict
        The content of ``RUN_DIR/metrics.json``.

    Raises
    ------
    FinetuneError
        If a stage fails.
    """
    out = sys.stdout if out is None else out
    run_dir = Path(run_dir)
    summary = read_dataset_summary(prepared)
    source = init_source(init, trust_checkpoint=trust_checkpoint)
    arch = recipe_arch(source)
    options = {
        "epochs": epochs,
        "batch_size": batch_size,
        "trust_checkpoint": True if trust_checkpoint else None,
        **(overrides or {}),
    }
    recipe = recipe_dir()
    env = child_env()
    for name, hparams_file, stage_init in stage_plan(source, run_dir):
        cmd = stage_command(
            hparams_file,
            prepared,
            stage_init,
            run_dir / "runs" / name,
            arch,
            device,
            options,
        )
        print(f"$ {shlex.join(cmd)}", file=out, flush=True)
        log = run_dir / "logs" / f"{name}.log"
        status = stream_command(cmd, log, cwd=str(recipe), env=env, out=out)
        if status != 0:
            raise FinetuneError(
                f"The {name} run failed (exit status {status}); its output "
                f"is in {log}. Rerun the command to resume it."
            )
    final = run_dir / "runs" / "finetune"
    test_path = final / TEST_FOLDER / METRICS_FILE
    test = {}
    if test_path.is_file():
        test = json.loads(test_path.read_text(encoding="utf-8"))
    metrics = {
        "held_out": {who: test[who] for who in MODELS if who in test},
        "checkpoint": test.get("checkpoint"),
        "init_model": {k: source[k] for k in ("kind", "path")},
        "architecture": arch,
        "data": summary,
        "exported": "teacher",
    }
    held = metrics["held_out"].get("teacher", {})
    card = {
        "title": "ATST-SED fine-tuned on "
        + ", ".join(summary.get("classes", [])),
        "datasets": ["custom"],
        "metrics": {
            key: held[key]
            for _, key in SUMMARY_METRICS
            if isinstance(held.get(key), (int, float))
        }
        or None,
        "metrics_source": "The teacher on the held-out files of the "
        "prepared data, each file scored whole (10 s windows, as this "
        "model's detect).",
        "training": "Fine-tuned with `speechbrain-atst finetune` "
        f"(recipes/Custom/SED) from {source['kind']} `{source['path']}`: "
        "every weight transferred but the class-dependent output layers; "
        "mean teacher, ICT, mixup and frequency warping as ATST-SED's "
        "stage 2.",
        "data": _data_card(summary),
    }
    if not metrics["held_out"]:
        card["origin"] = (
            "The teacher of the last checkpoint of the fine-tuning (no "
            "held-out files: no model selection, no metrics)."
        )
    export_run(
        final,
        run_dir / "model",
        which="teacher",
        card=card,
        allow_latest=not metrics["held_out"],
    )
    (run_dir / "metrics.json").write_text(
        json.dumps(metrics, indent=2), encoding="utf-8"
    )
    if metrics["held_out"]:
        print("\n" + summary_table(metrics["held_out"]), file=out)
    else:
        print("\nNo held-out files: no metrics.", file=out)
    print(
        f"\nModel: {run_dir / 'model'}\n  speechbrain-atst detect "
        f"recording.wav --model {run_dir / 'model'}",
        file=out,
        flush=True,
    )
    return metrics
