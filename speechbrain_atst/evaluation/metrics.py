"""PSDS and F1 scores of frame scores with the DCASE protocol.

``evaluate_scores`` computes PSDS1 and PSDS2 (exact, over every operating
point), intersection-based F1 and collar-based (event-based) F1 with
sed_scores_eval and the DCASE task 4 parameters of ``PSDS_SCENARIOS``,
``INTERSECTION_F1`` and ``COLLAR_F1``. As in DCASE, clips whose ground truth
has no event are left out (the collar F1 is also given over all clips,
``*_all_files``). ``format_metrics`` prints the result as a table.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from speechbrain_atst.evaluation.compat import sed_scores_eval
from speechbrain_atst.evaluation.io import (
    read_durations,
    read_ground_truth,
    read_scores,
)
from speechbrain_atst.evaluation.postprocessing import (
    _score_classes,
    median_filter,
)
from speechbrain_atst.labels import load_classes, per_class_values

#: PSDS scenario 1 (localisation), DCASE 2023/2024 parameters.
PSDS1_SCENARIO = MappingProxyType(
    {
        "dtc_threshold": 0.7,
        "gtc_threshold": 0.7,
        "cttc_threshold": None,
        "alpha_ct": 0.0,
        "alpha_st": 1.0,
        "max_efpr": 100.0,
        "unit_of_time": "hour",
    }
)
#: PSDS scenario 2 (classification, cross-triggers), DCASE parameters.
PSDS2_SCENARIO = MappingProxyType(
    {
        "dtc_threshold": 0.1,
        "gtc_threshold": 0.1,
        "cttc_threshold": 0.3,
        "alpha_ct": 0.5,
        "alpha_st": 1.0,
        "max_efpr": 100.0,
        "unit_of_time": "hour",
    }
)
#: Both PSDS scenarios by metric name: the single source of their values.
PSDS_SCENARIOS = MappingProxyType(
    {"psds1": PSDS1_SCENARIO, "psds2": PSDS2_SCENARIO}
)
#: Intersection-based F1 of the DCASE baseline (threshold 0.5).
INTERSECTION_F1 = MappingProxyType(
    {"threshold": 0.5, "dtc_threshold": 0.5, "gtc_threshold": 0.5}
)
#: Collar-based (event-based) F1: 200 ms onset collar, offset collar
#: max(200 ms, 20 % of the event length), threshold 0.5.
COLLAR_F1 = MappingProxyType(
    {
        "threshold": 0.5,
        "onset_collar": 0.2,
        "offset_collar": 0.2,
        "offset_collar_rate": 0.2,
    }
)


def evaluate_scores(
    scores,
    ground_truth,
    durations,
    classes=None,
    median_windows=None,
    psds_roc_png=None,
    num_jobs=1,
):
    """PSDS1, PSDS2, intersection F1 and collar F1 of frame scores.

    Follows DCASE task 4 (2023, 2024) and ATST-SED: clips whose ground truth
    has no event are dropped from the ground truth, the durations and the
    scores; PSDS is computed exactly over all operating points by
    sed_scores_eval with ``PSDS_SCENARIOS``; the F1 scores use threshold 0.5
    (``INTERSECTION_F1``, ``COLLAR_F1``). The collar F1 over every scored
    clip is added as ``collar_f1_*_all_files``.

    Arguments
    ---------
    scores : dict, str or os.PathLike
        ``{audio_id: score DataFrame}`` or a folder of score TSVs. Clips
        with events in the ground truth must all be scored; clips neither in
        the ground truth nor in the durations are an error.
    ground_truth : str, os.PathLike or dict
        Strong labels (see ``read_ground_truth``). Clips listed only in the
        durations count as clips without events.
    durations : str, os.PathLike or dict
        Clip durations (see ``read_durations``).
    classes : None, str or sequence of str
        Classes to evaluate (default: the score columns). Ground-truth
        events of other score columns are ignored; labels that are no score
        column are an error.
    median_windows : None, int, sequence or dict
        Per-class median filter (frames) applied first; ``None`` evaluates
        the scores as they are.
    psds_roc_png : str or os.PathLike, optional
        Where to save a plot of both PSD-ROCs (needs matplotlib).
    num_jobs : int
        Processes to use; the metrics are split between them (PSDS2,
        PSDS1, intersection F1, collar F1: at most 4 are useful).

    Returns
    -------
    dict
        ``psds1``, ``psds2``, ``intersection_f1_macro``,
        ``intersection_f1_micro``, ``collar_f1_macro``, ``collar_f1_micro``,
        ``collar_precision_micro``, ``collar_recall_micro``, their
        ``*_all_files`` variants, per-class dicts ``psds1_per_class``,
        ``psds2_per_class``, ``intersection_f1_per_class``,
        ``collar_f1_per_class``, ``collar_f1_per_class_all_files``, and
        ``classes``, ``n_files``, ``n_files_all``, ``n_events``,
        ``median_windows`` (``None`` or one per class) and ``computed_by``
        (the tool and function behind each figure).

    Example
    -------
    >>> from speechbrain_atst.evaluation import scores_to_dataframe
    >>> df = scores_to_dataframe(np.eye(156)[:, 20:21] * 0.2, ["Dog"])
    >>> df.loc[30:45, "Dog"] = 0.9
    >>> res = evaluate_scores(
    ...     {"a": df}, {"a": [(1.92, 2.944, "Dog")]}, {"a": 10.0}
    ... )
    >>> round(res["psds1"], 3), res["collar_f1_macro"]
    (1.0, 1.0)
    """
    if int(num_jobs) != num_jobs or num_jobs < 1:
        raise ValueError(f"num_jobs must be an integer >= 1, got {num_jobs}")
    if not isinstance(scores, dict):
        scores = read_scores(scores)
    if not scores:
        raise ValueError("No scores to evaluate")
    score_classes = _common_classes(scores)
    # Labels outside the score classes are reported with their line.
    ground_truth = read_ground_truth(ground_truth, classes=score_classes)
    durations = read_durations(durations)
    classes = score_classes if classes is None else load_classes(classes)
    absent = [c for c in classes if c not in score_classes]
    if absent:
        raise ValueError(
            f"Classes {absent} have no score column; score classes: "
            f"{score_classes}"
        )
    labels = {ev[2] for events in ground_truth.values() for ev in events}
    unknown = sorted(labels - set(score_classes))
    if unknown:
        raise ValueError(
            f"Ground-truth labels {unknown} are not score classes "
            f"{score_classes}; check the class list of the model and of the "
            f"ground truth"
        )
    kept = set(classes)
    ground_truth = {
        k: [ev for ev in events if ev[2] in kept]
        for k, events in ground_truth.items()
    }
    windows = None
    if median_windows is not None:
        windows = [int(w) for w in per_class_values(median_windows, classes)]
    if classes != score_classes or windows is not None:
        scores = {
            k: _select_and_filter(df, classes, windows)
            for k, df in scores.items()
        }

    all_ids, event_ids = _reconcile_ids(scores, ground_truth, durations)
    gt_all = {k: ground_truth.get(k, []) for k in all_ids}
    gt_ev = {k: gt_all[k] for k in event_ids}
    dur_ev = {k: durations[k] for k in event_ids}
    counts = dict.fromkeys(classes, 0)
    for events in gt_ev.values():
        for ev in events:
            counts[ev[2]] += 1
    empty = [c for c, n in counts.items() if n == 0]
    if empty:
        raise ValueError(
            f"No ground-truth event of classes {empty}: PSDS needs at least "
            f"one per class; pass classes= to evaluate the others"
        )

    groups = _metric_groups(num_jobs)
    args = (scores, gt_all, gt_ev, dur_ev, classes)
    if len(groups) == 1:
        values, rocs = _compute_metrics(groups[0], *args)
    else:
        from concurrent.futures import ProcessPoolExecutor

        # The other groups run in worker processes while this one computes
        # the last group.
        with ProcessPoolExecutor(max_workers=len(groups) - 1) as pool:
            futures = [
                pool.submit(_compute_metrics, group, *args)
                for group in groups[:-1]
            ]
            values, rocs = _compute_metrics(groups[-1], *args)
            for future in futures:
                more_values, more_rocs = future.result()
                values.update(more_values)
                rocs.update(more_rocs)
    metrics = {key: values[key] for key in _metric_keys()}
    metrics.update(
        classes=list(classes),
        n_files=len(gt_ev),
        n_files_all=len(gt_all),
        n_events=sum(len(events) for events in gt_ev.values()),
        median_windows=windows,
        computed_by=computed_by(),
    )
    if psds_roc_png is not None:
        _plot_psd_rocs(rocs, metrics, psds_roc_png)
    return metrics


#: The sed_scores_eval function behind each figure of ``evaluate_scores``.
METRIC_FUNCTIONS = {
    "psds1": "intersection_based.psds (PSDS_SCENARIOS['psds1'])",
    "psds2": "intersection_based.psds (PSDS_SCENARIOS['psds2'])",
    "intersection_f1": "intersection_based.fscore (INTERSECTION_F1)",
    "collar_f1": "collar_based.fscore (COLLAR_F1)",
}


def computed_by():
    """Which tool computed each figure of :func:`evaluate_scores`.

    Returns
    -------
    dict
        ``{metric family: "sed_scores_eval <version>: <function>"}``.

    Example
    -------
    >>> print(computed_by()["psds1"])
    sed_scores_eval 0.0.4: intersection_based.psds (PSDS_SCENARIOS['psds1'])
    """
    from importlib.metadata import version

    tool = f"sed_scores_eval {version('sed_scores_eval')}"
    return {key: f"{tool}: {fn}" for key, fn in METRIC_FUNCTIONS.items()}


def _scenario(name, n_classes):
    """PSDS parameters of scenario ``name`` for ``n_classes`` classes.

    With a single class there is no cross-trigger to count (sed_scores_eval
    fails on it), so the cross-trigger term is dropped.
    """
    scenario = dict(PSDS_SCENARIOS[name])
    if n_classes < 2 and scenario["cttc_threshold"] is not None:
        scenario.update(cttc_threshold=None, alpha_ct=0.0)
    return scenario


#: Metric groups computed by each process, by number of processes: PSDS2
#: (cross-triggers) costs about as much as the three others together.
_GROUPS = (
    (("psds1", "psds2", "intersection_f1", "collar_f1"),),
    (("psds2",), ("psds1", "intersection_f1", "collar_f1")),
    (("psds2",), ("psds1",), ("intersection_f1", "collar_f1")),
    (("psds2",), ("psds1",), ("intersection_f1",), ("collar_f1",)),
)


def _metric_groups(num_jobs):
    """The metric groups for ``num_jobs`` processes (at most 4 used)."""
    return _GROUPS[min(int(num_jobs), len(_GROUPS)) - 1]


def _metric_keys():
    """Keys of the metric values, in output order."""
    keys = []
    for name in PSDS_SCENARIOS:
        keys += [name, f"{name}_per_class"]
    keys += [
        "intersection_f1_macro",
        "intersection_f1_micro",
        "intersection_f1_per_class",
    ]
    for suffix in ("", "_all_files"):
        keys += [
            f"collar_f1_macro{suffix}",
            f"collar_f1_micro{suffix}",
            f"collar_precision_micro{suffix}",
            f"collar_recall_micro{suffix}",
            f"collar_f1_per_class{suffix}",
        ]
    return keys


def _reconcile_ids(scores, ground_truth, durations):
    """Checks that scores, ground truth and durations describe the same
    clips; returns (scored ids, ids of clips with events)."""
    known = set(ground_truth) | set(durations)
    stray = sorted(set(scores) - known)
    if stray:
        raise ValueError(
            f"{len(stray)} scored clip(s) are neither in the ground truth nor "
            f"in the durations, e.g. {stray[:3]}"
        )
    event_ids = sorted(k for k, events in ground_truth.items() if events)
    if not event_ids:
        raise ValueError("The ground truth has no event to evaluate")
    unscored = [k for k in event_ids if k not in scores]
    if unscored:
        raise ValueError(
            f"{len(unscored)} clip(s) with ground-truth events have no "
            f"scores, e.g. {unscored[:3]}"
        )
    no_duration = [k for k in event_ids if k not in durations]
    if no_duration:
        raise ValueError(
            f"{len(no_duration)} clip(s) with ground-truth events have no "
            f"duration, e.g. {no_duration[:3]}"
        )
    return sorted(scores), event_ids


def _compute_metrics(names, scores, gt_all, gt_ev, dur_ev, classes):
    """Computes the metrics ``names`` with sed_scores_eval.

    Top-level so that worker processes can run it. The F1 scores, taken at
    one threshold, are computed on binarized scores (see ``_binarize``);
    the collar F1 over clips with events and over all clips share the
    per-clip statistics ("deltas") of one pass.

    Returns
    -------
    tuple
        (metric values, {PSDS name: (PSD-ROC, per-class ROCs)}).
    """
    sse = sed_scores_eval()
    collar_based, intersection_based = sse.collar_based, sse.intersection_based
    out, rocs = {}, {}
    scores_ev = {k: scores[k] for k in gt_ev}
    for name in names:
        if name in PSDS_SCENARIOS:
            value, per_class, roc, class_rocs = intersection_based.psds(
                scores_ev, gt_ev, dur_ev, **_scenario(name, len(classes))
            )
            out[name] = float(value)
            out[f"{name}_per_class"] = {c: float(per_class[c]) for c in classes}
            rocs[name] = (roc, class_rocs)
        elif name == "intersection_f1":
            params = dict(INTERSECTION_F1)
            threshold = params.pop("threshold")
            binary = {k: _binarize(v, threshold) for k, v in scores_ev.items()}
            f = intersection_based.fscore(binary, gt_ev, threshold, **params)[0]
            out["intersection_f1_macro"] = float(f["macro_average"])
            out["intersection_f1_micro"] = float(f["micro_average"])
            out["intersection_f1_per_class"] = {c: float(f[c]) for c in classes}
        elif name == "collar_f1":
            params = dict(COLLAR_F1)
            threshold = params.pop("threshold")
            binary = {k: _binarize(v, threshold) for k, v in scores.items()}
            deltas = collar_based.intermediate_statistics_deltas(
                binary, gt_all, **params
            )
            for suffix, gt in (("", gt_ev), ("_all_files", gt_all)):
                f, p, r, _ = collar_based.fscore(
                    None,
                    gt,
                    threshold,
                    deltas={k: deltas[k] for k in gt},
                    **params,
                )
                out[f"collar_f1_macro{suffix}"] = float(f["macro_average"])
                out[f"collar_f1_micro{suffix}"] = float(f["micro_average"])
                out[f"collar_precision_micro{suffix}"] = float(
                    p["micro_average"]
                )
                out[f"collar_recall_micro{suffix}"] = float(r["micro_average"])
                out[f"collar_f1_per_class{suffix}"] = {
                    c: float(f[c]) for c in classes
                }
        else:
            raise ValueError(f"Unknown metric {name!r}")
    return out, rocs


def _binarize(frame, threshold):
    """Score DataFrame with the class columns replaced by ``score > t``.

    A metric at one threshold depends on the decisions only: with 0/1
    scores and the same threshold sed_scores_eval finds the same events
    (``score > threshold``), hence the same F1, while its curves over all
    operating points shrink to two points.
    """
    values = frame.to_numpy(dtype=np.float64, copy=True)
    values[:, 2:] = values[:, 2:] > threshold
    return pd.DataFrame(values, columns=frame.columns)


def _plot_psd_rocs(rocs, metrics, path):
    """Saves the PSD-ROCs of both scenarios (one panel each) to a PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "Plotting the PSD-ROC needs matplotlib: pip install "
            "'speechbrain-atst[plot]'"
        ) from None
    fig = Figure(figsize=(11, 4.5))
    FigureCanvasAgg(fig)
    for ax, (name, ((tpr, efpr), class_rocs)) in zip(
        fig.subplots(1, 2), rocs.items()
    ):
        max_efpr = PSDS_SCENARIOS[name]["max_efpr"]
        for label, (c_tpr, c_efpr, *_) in class_rocs.items():
            ax.step(c_efpr, c_tpr, where="post", lw=0.8, alpha=0.5, label=label)
        ax.step(efpr, tpr, where="post", color="k", lw=2, label="PSD-ROC")
        ax.set_xlim(0, max_efpr)
        ax.set_ylim(0, 1)
        ax.set_xlabel("eFPR (per hour)")
        ax.set_ylabel("eTPR")
        ax.set_title(f"{name.upper()} = {metrics[name]:.4f}")
        ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def format_metrics(metrics):
    """A readable table of the result of ``evaluate_scores``.

    Arguments
    ---------
    metrics : dict
        Output of ``evaluate_scores``.

    Returns
    -------
    str
        Overall values, then one line per class.

    Example
    -------
    >>> m = {"psds1": 0.5, "psds2": 0.7, "classes": []}
    >>> print(format_metrics(m).splitlines()[1])
    PSDS1 ...  0.5000
    """
    lines = [
        f"Evaluated {metrics.get('n_files', '?')} clips with events "
        f"({metrics.get('n_events', '?')} events; "
        f"{metrics.get('n_files_all', '?')} clips in all)"
    ]
    rows = [
        ("PSDS1 (dtc=gtc=0.7, alpha_st=1)", "psds1"),
        ("PSDS2 (dtc=gtc=0.1, cttc=0.3, alpha_ct=0.5)", "psds2"),
        (
            "Intersection F1 macro (dtc=gtc=0.5, thr 0.5)",
            "intersection_f1_macro",
        ),
        ("Collar F1 macro (0.2 s / 20 %, thr 0.5)", "collar_f1_macro"),
        ("Collar F1 micro", "collar_f1_micro"),
        ("Collar F1 macro, all clips", "collar_f1_macro_all_files"),
        ("Collar F1 micro, all clips", "collar_f1_micro_all_files"),
    ]
    width = max(len(r[0]) for r in rows)
    for title, key in rows:
        if key in metrics:
            lines.append(f"{title:<{width}}  {metrics[key]:.4f}")
    classes = metrics.get("classes", [])
    if classes:
        columns = [
            ("PSDS1", "psds1_per_class"),
            ("PSDS2", "psds2_per_class"),
            ("InterF1", "intersection_f1_per_class"),
            ("CollarF1", "collar_f1_per_class"),
        ]
        cw = max(len(c) for c in classes)
        lines.append("")
        lines.append(
            f"{'class':<{cw}}" + "".join(f"  {t:>8}" for t, _ in columns)
        )
        for c in classes:
            cells = "".join(
                f"  {metrics.get(key, {}).get(c, float('nan')):>8.4f}"
                for _, key in columns
            )
            lines.append(f"{c:<{cw}}{cells}")
    return "\n".join(lines)


def _common_classes(scores):
    """The class columns shared by every score DataFrame."""
    classes = None
    for audio_id, frame in scores.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"Scores of {audio_id!r} must be a DataFrame, got "
                f"{type(frame).__name__}"
            )
        current = _score_classes(frame, audio_id)
        if not np.isfinite(frame.to_numpy(dtype=np.float64)).all():
            raise ValueError(f"Scores of {audio_id!r} contain NaN or inf")
        if classes is None:
            classes = current
        elif current != classes:
            raise ValueError(
                f"Scores of {audio_id!r} have classes {current}, other clips "
                f"{classes}"
            )
    return classes


def _select_and_filter(frame, classes, windows):
    """Keeps ``classes`` columns and applies the median filter."""
    values = frame.to_numpy(dtype=np.float64, copy=True)
    columns = [str(c) for c in frame.columns]
    values = values[:, [0, 1] + [columns.index(c) for c in classes]]
    if windows is not None:
        values[:, 2:] = median_filter(values[:, 2:], windows)
    return pd.DataFrame(values, columns=["onset", "offset", *classes])
