"""The quickstart folder: where each output goes and which steps are done.

Every step of the quickstart writes under one folder (``--out_dir``); a
step is done when its last output exists, so a rerun skips it. The checks
are here, next to the paths they look at.

Authors
 * speechbrain-atst team 2026
"""

import json
from pathlib import Path

#: Default output folder (relative to the working directory).
DEFAULT_OUT_DIR = "atst_quickstart"
#: Steps in order, with their titles.
STEPS = {
    "synth": "Synthesize a mini-DESED",
    "prepare": "Prepare the manifests",
    "stage1": "Stage 1: train the CRNN around a frozen transformer",
    "stage2": "Stage 2: fine-tune the whole model",
    "untrained": "Evaluate an untrained model (baseline)",
    "export": "Export the stage-2 teacher as a model folder",
    "detect": "Detect sound events in a validation clip",
}


class QuickstartError(RuntimeError):
    """A quickstart step cannot run or failed (the message says why)."""


def output_layout(out_dir):
    """Paths of everything the quickstart writes.

    Arguments
    ---------
    out_dir : str or os.PathLike
        The quickstart folder.

    Returns
    -------
    dict
        ``{name: pathlib.Path}``: ``root``, ``data`` (synthesized
        dataset), ``manifests``, ``stage1`` and ``stage2`` (training runs),
        ``untrained`` (baseline evaluation), ``model`` (exported model
        folder), ``detect`` (``events`` TSV and ``plots``), ``logs``,
        ``timings``, ``summary_txt`` and ``summary_json``.

    Example
    -------
    >>> output_layout("qs")["events"].as_posix()
    'qs/detect/events.tsv'
    """
    root = Path(out_dir)
    return {
        "root": root,
        "data": root / "data",
        "manifests": root / "manifests",
        "stage1": root / "stage1",
        "stage2": root / "stage2",
        "untrained": root / "untrained",
        "model": root / "model",
        "detect": root / "detect",
        "events": root / "detect" / "events.tsv",
        "plots": root / "detect" / "plots",
        "logs": root / "logs",
        "timings": root / "timings.json",
        "summary_txt": root / "summary.txt",
        "summary_json": root / "summary.json",
    }


def _plain(obj):
    """JSON form of numpy scalars and arrays (``json.dump``'s default)."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Not serialisable: {type(obj).__name__}")


def read_json(path):
    """A JSON file, or None if it does not exist.

    Arguments
    ---------
    path : str or os.PathLike
        The file.

    Returns
    -------
    object or None
        Its content.

    Example
    -------
    >>> read_json(getfixture("tmp_path") / "absent.json") is None
    True
    """
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fin:
        return json.load(fin)


def write_json(path, data):
    """Writes ``data`` as indented JSON (numpy values as plain ones).

    Arguments
    ---------
    path : str or os.PathLike
        The file (parent folders are created).
    data : object
        What to write.

    Example
    -------
    >>> import numpy as np
    >>> path = getfixture("tmp_path") / "a" / "b.json"
    >>> write_json(path, {"psds1": np.float32(0.5)})
    >>> read_json(path)
    {'psds1': 0.5}
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(data, fout, indent=2, default=_plain)


def synth_done(data_dir, scale, seed):
    """Whether the dataset is complete; refuses one of other settings.

    The synthesizer writes ``synth_info.json`` last, so its presence means
    a complete dataset.

    Arguments
    ---------
    data_dir : str or os.PathLike
        The dataset folder.
    scale : str or float
        Requested scale.
    seed : int
        Requested seed.

    Returns
    -------
    bool
        True if a complete dataset with these settings is there.

    Raises
    ------
    QuickstartError
        If the folder holds a dataset of another scale or seed.

    Example
    -------
    >>> synth_done(getfixture("tmp_path"), "quickstart", 0)
    False
    """
    info_path = Path(data_dir) / "synth_info.json"
    info = read_json(info_path)
    if info is None:
        return False
    if str(info.get("scale")) != str(scale) or int(info.get("seed")) != seed:
        raise QuickstartError(
            f"{info_path}: this folder holds a dataset synthesized with "
            f"scale {info.get('scale')!r} and seed {info.get('seed')}, not "
            f"scale {scale!r} and seed {seed}; choose another --out_dir or "
            "delete this one"
        )
    return True


def stage_metrics_path(run_dir):
    """The test metrics a training run writes last.

    Arguments
    ---------
    run_dir : str or os.PathLike
        The run's ``output_folder``.

    Returns
    -------
    pathlib.Path
        ``<run_dir>/test/metrics.json``.

    Example
    -------
    >>> stage_metrics_path("qs/stage1").as_posix()
    'qs/stage1/test/metrics.json'
    """
    return Path(run_dir) / "test" / "metrics.json"


def stage_done(run_dir):
    """Whether a training run finished (its test metrics exist).

    Arguments
    ---------
    run_dir : str or os.PathLike
        The run's ``output_folder``.

    Returns
    -------
    bool
        True if ``<run_dir>/test/metrics.json`` exists.

    Example
    -------
    >>> stage_done(getfixture("tmp_path"))
    False
    """
    return stage_metrics_path(run_dir).is_file()


def baseline_metrics_path(layout):
    """The metrics file of the untrained baseline.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.

    Returns
    -------
    pathlib.Path
        ``<out_dir>/untrained/metrics.json``.

    Example
    -------
    >>> baseline_metrics_path(output_layout("qs")).as_posix()
    'qs/untrained/metrics.json'
    """
    return layout["untrained"] / "metrics.json"


def baseline_done(layout):
    """Whether the untrained baseline was evaluated.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.

    Returns
    -------
    bool
        True if its metrics file exists.

    Example
    -------
    >>> baseline_done(output_layout(getfixture("tmp_path")))
    False
    """
    return baseline_metrics_path(layout).is_file()


def model_done(layout):
    """Whether the exported model folder has its weights.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.

    Returns
    -------
    bool
        True if ``<out_dir>/model/model.ckpt`` exists.

    Example
    -------
    >>> model_done(output_layout(getfixture("tmp_path")))
    False
    """
    return (layout["model"] / "model.ckpt").is_file()


def plot_path(layout, clip):
    """The PNG the detect step writes for ``clip``.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.
    clip : str or os.PathLike
        The audio file.

    Returns
    -------
    pathlib.Path
        ``<out_dir>/detect/plots/<clip id>.png``.

    Example
    -------
    >>> plot_path(output_layout("qs"), "data/Y0a.wav").as_posix()
    'qs/detect/plots/Y0a.png'
    """
    from speechbrain_atst.inference.detect import output_id

    return layout["plots"] / f"{output_id(Path(clip).name)}.png"


def detect_done(layout, clip):
    """Whether the detect step wrote its events TSV and the clip's PNG.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.
    clip : str or os.PathLike
        The audio file of the detect step.

    Returns
    -------
    bool
        True if both exist.

    Example
    -------
    >>> detect_done(output_layout(getfixture("tmp_path")), "a.wav")
    False
    """
    return layout["events"].is_file() and plot_path(layout, clip).is_file()
