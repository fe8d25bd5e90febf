"""The quickstart's summary: results of every model, times, outputs.

The metrics come from the structured outputs of the steps (each training
run's ``test/metrics.json``, the baseline's ``untrained/metrics.json``),
the training speed from each run's train log
(:func:`~speechbrain_atst.quickstart.train_log.training_speed`) and the
step times from the quickstart's own timings. :func:`summary_text` lays
them out as the table printed at the end and written to ``summary.txt``;
:func:`write_summary` also writes everything as ``summary.json``.

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.quickstart.layout import (
    STEPS,
    baseline_metrics_path,
    read_json,
    stage_metrics_path,
    write_json,
)
from speechbrain_atst.quickstart.train_log import training_speed

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
        ``untrained``, ``stage1 student``... ``stage2 teacher``) and
        ``speed`` (``{stage1, stage2: training_speed}``).

    Example
    -------
    >>> from speechbrain_atst.quickstart.layout import output_layout
    >>> collect_results(output_layout(getfixture("tmp_path")))
    {'metrics': {}, 'speed': {'stage1': None, 'stage2': None}}
    """
    metrics, speed = {}, {}
    untrained = read_json(baseline_metrics_path(layout))
    if untrained:
        metrics["untrained"] = untrained["untrained"]
    for run in RUNS:
        test = read_json(stage_metrics_path(layout[run])) or {}
        for who in MODELS:
            if isinstance(test.get(who), dict):
                metrics[f"{run} {who}"] = test[who]
        speed[run] = training_speed(layout[run] / "train_log.txt")
    return {"metrics": metrics, "speed": speed}


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
        timing_lines(timings, total_seconds),
        output_lines(layout),
    ]
    lines = sections[0]
    for section in sections[1:-1]:
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
