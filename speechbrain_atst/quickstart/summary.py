"""The quickstart's summary: results of every model, times, outputs.

The metrics come from the structured outputs of the steps (each training
run's ``test/metrics.json``, the baseline's ``untrained/metrics.json``),
the training speed and the terms of the training loss (first and last
epoch: strong and weak BCE, consistency, its weight, the fraction of ICT
steps) from each run's train log
(:func:`~speechbrain_atst.quickstart.train_log.training_speed`,
:func:`~speechbrain_atst.quickstart.train_log.training_terms`), the batch
composition from each run's ``hyperparams.yaml`` and the step times from
the quickstart's own timings. :func:`summary_text` lays
them out as the table printed at the end and written to ``summary.txt``;
:func:`write_summary` also writes everything as ``summary.json``.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

from speechbrain_atst.quickstart.layout import (
    STEPS,
    baseline_metrics_path,
    read_json,
    stage_metrics_path,
    write_json,
)
from speechbrain_atst.quickstart.train_log import (
    TRAINING_TERMS,
    training_speed,
    training_terms,
)

#: Metrics shown in the summary: (column title, key of evaluate_scores).
SUMMARY_METRICS = (
    ("PSDS1", "psds1"),
    ("PSDS2", "psds2"),
    ("inter-F1", "intersection_f1_macro"),
    ("collar-F1", "collar_f1_macro"),
)
#: The training runs and the models of each that are evaluated.
RUNS = ("stage1", "stage2")
MODELS = ("student", "teacher")
#: The row of the exported model.
EXPORTED_ROW = "stage2 teacher"
#: Outputs listed at the end: (layout key, description).
OUTPUTS = (
    ("data", "synthesized mini-DESED (DESED layout)"),
    ("manifests", "manifests and ground-truth TSVs"),
    ("stage1", "stage-1 run (train_log.txt, save/, test/metrics.json)"),
    ("stage2", "stage-2 run (train_log.txt, save/, test/metrics.json)"),
    ("untrained", "untrained baseline (metrics.json, scores/)"),
    ("model", "exported stage-2 teacher (SEDInterface.from_hparams)"),
    ("events", "detected events (TSV)"),
    ("plots", "detection plot (PNG)"),
    ("logs", "output of the training runs"),
    ("summary_txt", "this summary (also summary.json)"),
)
#: Width of the rules around the summary.
RULE = "=" * 72
#: The parts of a training batch (the recipe's ``batch_sizes``).
BATCH_PARTS = ("real strong", "synthetic", "weak", "unlabeled")
#: What the training terms of the summary are.
TERMS_LEGEND = (
    "  batch: [real strong, synthetic, weak, unlabeled] clips per step;",
    "  loss_weak: BCE of the weak clips' labels; loss_self: consistency",
    "  with the teacher on every clip (ICT on the ict_steps fraction of",
    "  the steps, mean teacher on the others), weighted by cons_weight.",
)


def run_batch_sizes(run_dir):
    """The ``batch_sizes`` a training run used (its ``hyperparams.yaml``).

    SpeechBrain copies the hyperparameters file with the run's overrides
    into the output folder; its top-level ``batch_sizes`` line is read
    (the file as a whole needs the recipe's YAML tags).

    Arguments
    ---------
    run_dir : str or os.PathLike
        The run's output folder.

    Returns
    -------
    list of int or None
        ``[real strong, synthetic, weak, unlabeled]``; None without the
        file or the line.

    Example
    -------
    >>> run = getfixture("tmp_path")
    >>> _ = (run / "hyperparams.yaml").write_text(
    ...     "# batch_sizes: [9]\\nbatch_sizes: [1, 5, 2, 2]\\nseed: 42\\n"
    ... )
    >>> run_batch_sizes(run), run_batch_sizes(run / "none")
    ([1, 5, 2, 2], None)
    """
    from speechbrain_atst.training.recipe_args import read_plain_keys

    path = Path(run_dir) / "hyperparams.yaml"
    if not path.is_file():
        return None
    value = read_plain_keys(path, ["batch_sizes"]).get("batch_sizes")
    if isinstance(value, list) and len(value) == len(BATCH_PARTS):
        return [int(v) for v in value]
    return None


def run_training(run_dir):
    """The batch composition and training-loss terms of a training run.

    Arguments
    ---------
    run_dir : str or os.PathLike
        The run's output folder.

    Returns
    -------
    dict or None
        ``batch_sizes`` (see :func:`run_batch_sizes`), ``epochs``,
        ``first`` and ``last`` (see
        :func:`~speechbrain_atst.quickstart.train_log.training_terms`);
        None without a train log.

    Example
    -------
    >>> run_training(getfixture("tmp_path")) is None
    True
    """
    terms = training_terms(Path(run_dir) / "train_log.txt")
    if terms is None:
        return None
    return {"batch_sizes": run_batch_sizes(run_dir), **terms}


def collect_results(layout):
    """Metrics of every model and training speed of both stages.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.

    Returns
    -------
    dict
        ``metrics`` (``{row name: evaluate_scores dict}`` for
        ``untrained``, ``stage1 student``... ``stage2 teacher``),
        ``speed`` (``{stage1, stage2: training_speed}``) and ``training``
        (``{stage1, stage2: run_training}``).

    Example
    -------
    >>> from speechbrain_atst.quickstart.layout import output_layout
    >>> collect_results(output_layout(getfixture("tmp_path")))
    {'metrics': {}, 'speed': {'stage1': None, 'stage2': None},
     'training': {'stage1': None, 'stage2': None}}
    """
    metrics, speed, training = {}, {}, {}
    untrained = read_json(baseline_metrics_path(layout))
    if untrained:
        metrics["untrained"] = untrained["untrained"]
    for run in RUNS:
        test = read_json(stage_metrics_path(layout[run])) or {}
        for who in MODELS:
            if isinstance(test.get(who), dict):
                metrics[f"{run} {who}"] = test[who]
        speed[run] = training_speed(layout[run] / "train_log.txt")
        training[run] = run_training(layout[run])
    return {"metrics": metrics, "speed": speed, "training": training}


def format_metric(values, key):
    """A metric formatted for the summary table (``-`` if missing).

    Arguments
    ---------
    values : dict
        Metrics of one model.
    key : str
        The metric.

    Returns
    -------
    str
        Three decimals, or ``-``.

    Example
    -------
    >>> format_metric({"psds1": 0.25}, "psds1"), format_metric({}, "psds1")
    ('0.250', '-')
    """
    value = values.get(key)
    if not isinstance(value, (int, float)) or value != value:
        return "-"
    return f"{value:.3f}"


def format_seconds(seconds):
    """A duration as ``"7 min 12 s"`` or ``"42.0 s"`` (``-`` if None).

    Arguments
    ---------
    seconds : float or None
        The duration.

    Returns
    -------
    str
        The text.

    Example
    -------
    >>> format_seconds(432.4), format_seconds(42.0), format_seconds(None)
    ('7 min 12 s', '42.0 s', '-')
    """
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(round(seconds % 60)):02d} s"


def note_lines(arch):
    """The title and the note on the transformer.

    Arguments
    ---------
    arch : dict
        ``embed_dim``, ``depth``, ``num_heads`` of the transformer.

    Returns
    -------
    list of str
        The lines.

    Example
    -------
    >>> print(note_lines({"embed_dim": 64, "depth": 2, "num_heads": 4})[3])
    NOTE: the ATST-Frame transformer is a small one (64-dim, 2 blocks, 4 heads)
    """
    return [
        RULE,
        "ATST-SED quickstart: summary",
        RULE,
        "NOTE: the ATST-Frame transformer is a small one "
        f"({arch['embed_dim']}-dim, {arch['depth']} blocks, "
        f"{arch['num_heads']} heads)",
        "initialised at random, not the pretrained ATST-Frame: these "
        "figures show",
        "that the pipeline learns; they are not comparable to the paper's.",
        "",
    ]


def metric_lines(metrics):
    """The table of metrics, then the exported model's PSDS1 per class.

    Arguments
    ---------
    metrics : dict
        ``{row name: metrics}`` (see :func:`collect_results`).

    Returns
    -------
    list of str
        The lines.

    Example
    -------
    >>> rows = {"untrained": {"psds1": 0.0, "n_files_all": 60}}
    >>> for line in metric_lines(rows):
    ...     print(line)
    Metrics on the synthetic "real" validation split (60 clips):
      model         PSDS1     PSDS2  inter-F1 collar-F1
      untrained     0.000         -         -         -
    """
    n_files = next((m.get("n_files_all") for m in metrics.values() if m), None)
    lines = [
        'Metrics on the synthetic "real" validation split'
        + (f" ({n_files} clips)" if n_files else "")
        + ":"
    ]
    labels = {
        name: name + (" (exported)" if name == EXPORTED_ROW else "")
        for name in metrics
    }
    width = max([len(v) for v in labels.values()] + [5])
    lines.append(
        f"  {'model':<{width}}"
        + "".join(f" {title:>9}" for title, _ in SUMMARY_METRICS)
    )
    for name, values in metrics.items():
        cells = "".join(
            f" {format_metric(values, key):>9}" for _, key in SUMMARY_METRICS
        )
        lines.append(f"  {labels[name]:<{width}}{cells}")
    best = metrics.get(EXPORTED_ROW)
    if best and best.get("psds1_per_class"):
        lines += ["", "  stage-2 teacher PSDS1 per class:"]
        items = list(best["psds1_per_class"].items())
        for i in range(0, len(items), 2):
            lines.append(
                "    "
                + "   ".join(f"{c:<27s}{v:6.3f}" for c, v in items[i : i + 2])
            )
    return lines


def speed_lines(speed):
    """The training speed of each stage.

    Arguments
    ---------
    speed : dict
        ``{stage: training_speed or None}``.

    Returns
    -------
    list of str
        The lines.

    Example
    -------
    >>> one = {"steps": 20, "epochs": 2, "seconds": 42.0}
    >>> print(speed_lines({"stage1": {**one, "seconds_per_step": 2.1}})[1])
      stage1: 20 steps in 2 epochs, 2.10 s/step (42.0 s)
    """
    lines = ["Training (time per optimizer step, validation excluded):"]
    for stage, took in speed.items():
        if took:
            lines.append(
                f"  {stage}: {took['steps']} steps in {took['epochs']} "
                f"epochs, {took['seconds_per_step']:.2f} s/step "
                f"({format_seconds(took['seconds'])})"
            )
    return lines


def format_term(value):
    """A training statistic with three significant digits (``-`` if None).

    Arguments
    ---------
    value : float or None
        The value.

    Returns
    -------
    str
        The text.

    Example
    -------
    >>> format_term(0.01234), format_term(2.0), format_term(None)
    ('0.0123', '2', '-')
    """
    if value is None:
        return "-"
    return f"{value:.3g}"


def training_lines(training):
    """The batches and the training-loss terms of each stage.

    The weak BCE and the consistency terms of the first and last epochs
    show that the semi-supervised half of the training ran (weak labels,
    mean teacher / ICT on unlabeled clips); a stage whose batches hold no
    weak or no unlabeled clip is pointed out.

    Arguments
    ---------
    training : dict
        ``{stage: run_training or None}`` (see :func:`collect_results`).

    Returns
    -------
    list of str
        The lines (none if no stage has a train log).

    Example
    -------
    >>> first = {"loss_weak": 0.31, "cons_weight": 2.0, "ict_steps": 0.4}
    >>> last = {"loss_weak": 0.2, "cons_weight": 2.0, "ict_steps": 0.5}
    >>> run = {"batch_sizes": [1, 5, 2, 2], "first": first, "last": last}
    >>> for line in training_lines({"stage2": run})[:7]:
    ...     print(line)
    Training terms (train_log.txt, epoch means, first -> last epoch):
                   stage2
      batch        [1, 5, 2, 2]
      loss_strong  -
      loss_weak    0.31 -> 0.2
      loss_self    -
      cons_weight  2 -> 2
    """
    runs = {stage: run for stage, run in training.items() if run}
    if not runs:
        return []
    width = 20
    lines = [
        "Training terms (train_log.txt, epoch means, first -> last epoch):",
        (f"  {'':<13s}" + "".join(f"{s:<{width}s}" for s in runs)).rstrip(),
    ]

    def row(name, cells):
        return f"  {name:<13s}" + "".join(f"{c:<{width}s}" for c in cells)

    batches = [str(run.get("batch_sizes") or "-") for run in runs.values()]
    lines.append(row("batch", batches).rstrip())
    for term in TRAINING_TERMS:
        cells = []
        for run in runs.values():
            first = run["first"].get(term)
            last = run["last"].get(term)
            if first is None and last is None:
                cells.append("-")
            else:
                cells.append(f"{format_term(first)} -> {format_term(last)}")
        lines.append(row(term, cells).rstrip())
    lines += TERMS_LEGEND
    for stage, run in runs.items():
        sizes = run.get("batch_sizes")
        missing = [
            part
            for part, size in zip(BATCH_PARTS[2:], (sizes or [])[2:])
            if size == 0
        ]
        if missing:
            parts = " and no ".join(missing)
            lines.append(f"  NOTE: {stage} batches hold no {parts} clips.")
    return lines


def timing_lines(timings, total_seconds):
    """The time of each step of this run (and when skipped ones took).

    Arguments
    ---------
    timings : dict
        ``{step: {"seconds": float, "skipped": bool}}`` of this run.
    total_seconds : float
        Wall time of this run.

    Returns
    -------
    list of str
        The lines.

    Example
    -------
    >>> timings = {"synth": {"seconds": 25.0, "skipped": True}}
    >>> for line in timing_lines(timings, 3.0):
    ...     print(line)
    Time of each step:
      synth     skipped (took 25.0 s when done)   Synthesize a mini-DESED
      total     3.0 s (this run)
                25.0 s (all steps, as timed when done)
    """
    lines = ["Time of each step:"]
    for step, title in STEPS.items():
        info = timings.get(step)
        if not info:
            continue
        took = format_seconds(info.get("seconds"))
        if info.get("skipped"):
            took = "skipped" + (
                f" (took {took} when done)" if info.get("seconds") else ""
            )
        lines.append(f"  {step:<10s}{took:<34s}{title}")
    lines.append(f"  {'total':<10s}{format_seconds(total_seconds)} (this run)")
    if any(info.get("skipped") for info in timings.values()):
        known = [info.get("seconds") or 0.0 for info in timings.values()]
        lines.append(
            f"  {'':<10s}{format_seconds(sum(known))} (all steps, as timed "
            "when done)"
        )
    return lines


def output_lines(layout):
    """Where each output is.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.

    Returns
    -------
    list of str
        The lines.

    Example
    -------
    >>> from speechbrain_atst.quickstart.layout import output_layout
    >>> print(output_lines(output_layout("qs"))[7])
      qs/detect/events.tsv  detected events (TSV)
    """
    lines = [f"Outputs (under {layout['root']}):"]
    lines += [f"  {layout[key]}  {text}" for key, text in OUTPUTS]
    return lines


def summary_text(layout, results, timings, arch, total_seconds):
    """The summary table printed at the end.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    results : dict
        See :func:`collect_results`.
    timings : dict
        ``{step: {"seconds": float, "skipped": bool}}`` of this run.
    arch : dict
        ``embed_dim``, ``depth``, ``num_heads`` of the transformer.
    total_seconds : float
        Wall time of this run.

    Returns
    -------
    str
        The text.

    Example
    -------
    >>> from speechbrain_atst.quickstart.layout import output_layout
    >>> results = {"metrics": {}, "speed": {}}
    >>> arch = {"embed_dim": 64, "depth": 2, "num_heads": 4}
    >>> text = summary_text(output_layout("qs"), results, {}, arch, 1.0)
    >>> text.splitlines()[1], text.splitlines()[-1] == RULE
    ('ATST-SED quickstart: summary', True)
    """
    sections = [
        note_lines(arch),
        metric_lines(results["metrics"]),
        speed_lines(results["speed"]),
        training_lines(results.get("training", {})),
        timing_lines(timings, total_seconds),
        output_lines(layout),
    ]
    lines = sections[0]
    for section in sections[1:-1]:
        if section:
            lines += section + [""]
    return "\n".join(lines + sections[-1] + [RULE])


def write_summary(layout, summary):
    """Writes ``summary.json`` and ``summary.txt`` (its ``text``).

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    summary : dict
        The summary, with its ``text``.

    Example
    -------
    >>> from speechbrain_atst.quickstart.layout import output_layout
    >>> layout = output_layout(getfixture("tmp_path"))
    >>> write_summary(layout, {"text": "done"})
    >>> layout["summary_txt"].read_text()
    'done\\n'
    """
    write_json(layout["summary_json"], summary)
    layout["summary_txt"].write_text(summary["text"] + "\n", encoding="utf-8")
