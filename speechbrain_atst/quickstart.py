"""The quickstart: the whole ATST-SED pipeline on a synthesized mini-DESED.

``speechbrain-atst quickstart`` runs, in one output folder (default
``./atst_quickstart``), the steps a user runs on DESED, through the same
code:

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
   folder (:func:`~speechbrain_atst.inference.export_run`), then
   ``speechbrain-atst detect`` on a validation clip (events TSV and PNG);
6. a summary table (``summary.txt``, ``summary.json``).

Every step is skipped when its outputs exist, so rerunning the command
finishes the work left (a stage interrupted during training resumes from
its last checkpoint).

Authors
 * speechbrain-atst team 2026
"""

import codecs
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import speechbrain_atst
from speechbrain_atst.resources import DESED_RECIPE, shipped_path

#: Default output folder (relative to the working directory).
DEFAULT_OUT_DIR = "atst_quickstart"
#: Default dataset size (see ``speechbrain_atst.data.synth.SCALES``).
DEFAULT_SCALE = "quickstart"
#: Default training seed (the recipe's).
DEFAULT_SEED = 42
#: Default seed of the synthesized dataset.
DEFAULT_DATA_SEED = 0
#: The override file of the recipe used by the quickstart.
OVERRIDES_FILE = "quickstart.yaml"
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
#: Metrics shown in the summary: (column title, key of evaluate_scores).
SUMMARY_METRICS = (
    ("PSDS1", "psds1"),
    ("PSDS2", "psds2"),
    ("inter-F1", "intersection_f1_macro"),
    ("collar-F1", "collar_f1_macro"),
)


class QuickstartError(RuntimeError):
    """A quickstart step cannot run or failed (the message says why)."""


# ---------------------------------------------------------------------------
# Where things are
# ---------------------------------------------------------------------------


def recipe_dir():
    """The DESED training recipe folder that the quickstart runs.

    The recipe ``recipes/DESED/SED`` ships with the package (see
    :mod:`speechbrain_atst.resources`), so the quickstart runs from a wheel
    as from a source checkout; it writes only into its output folder.

    Returns
    -------
    pathlib.Path
        The folder of ``train.py`` and ``hparams/``.

    Raises
    ------
    QuickstartError
        If files of the recipe are missing from this installation.

    Example
    -------
    >>> (recipe_dir() / "train.py").is_file()
    True
    """
    try:
        folder = shipped_path(*DESED_RECIPE)
    except FileNotFoundError as err:
        raise QuickstartError(str(err)) from None
    needed = [
        folder / "train.py",
        folder / "hparams" / "stage1.yaml",
        folder / "hparams" / "stage2.yaml",
        folder / "hparams" / OVERRIDES_FILE,
    ]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise QuickstartError(
            "This installation of speechbrain-atst lacks files of the "
            f"training recipe: {', '.join(missing)}"
        )
    return folder


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


def quickstart_overrides(extra=None):
    """The recipe overrides of the quickstart (``hparams/quickstart.yaml``).

    Arguments
    ---------
    extra : dict, optional
        Keys to add or replace (both stages).

    Returns
    -------
    dict
        ``{hyperparameter: value}``.

    Example
    -------
    >>> quickstart_overrides()["atst_random_init"]
    True
    """
    from speechbrain_atst.training.recipe_args import load_overrides

    path = recipe_dir() / "hparams" / OVERRIDES_FILE
    return load_overrides(path, **(extra or {}))


def default_device():
    """``cuda:0`` when a GPU is usable, else ``cpu``.

    Returns
    -------
    str
        The device.
    """
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------


def _expected_clips(scale):
    """Number of clips the synthesizer writes at ``scale``."""
    from speechbrain_atst.data.synth import _resolve_sizes

    return sum(_resolve_sizes(scale).values())


def _count_wavs(data_dir):
    """Number of wav files under the audio folders of a dataset."""
    from speechbrain_atst.data.synth import SUBSETS

    total = 0
    for spec in SUBSETS.values():
        folder = Path(data_dir) / spec["audio"]
        if folder.is_dir():
            total += sum(1 for _ in folder.glob("*.wav"))
    return total


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
    if not info_path.is_file():
        return False
    with open(info_path, encoding="utf-8") as fin:
        info = json.load(fin)
    if str(info.get("scale")) != str(scale) or int(info.get("seed")) != seed:
        raise QuickstartError(
            f"{info_path}: this folder holds a dataset synthesized with "
            f"scale {info.get('scale')!r} and seed {info.get('seed')}, not "
            f"scale {scale!r} and seed {seed}; choose another --out_dir or "
            "delete this one"
        )
    return True


def run_synth(data_dir, scale, seed):
    """Synthesizes the dataset with a progress bar (clips written).

    An incomplete dataset left by an interrupted run is replaced.

    Arguments
    ---------
    data_dir : str or os.PathLike
        The dataset folder.
    scale : str or float
        Dataset size.
    seed : int
        Random seed.

    Returns
    -------
    dict
        The synthesizer's summary.
    """
    from tqdm import tqdm

    from speechbrain_atst.data.synth import synthesize_mini_desed

    total = _expected_clips(scale)
    stop = threading.Event()
    bar = tqdm(total=total, unit="clip", desc="synth", file=sys.stdout)

    def poll():
        while not stop.wait(0.5):
            bar.update(max(_count_wavs(data_dir) - bar.n, 0))

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        out = synthesize_mini_desed(
            data_dir, scale=scale, seed=seed, overwrite=True
        )
    finally:
        stop.set()
        watcher.join()
    bar.update(max(total - bar.n, 0))
    bar.close()
    counts = ", ".join(f"{k} {v}" for k, v in out["counts"].items())
    print(f"Wrote {data_dir} ({counts})")
    return out


def run_prepare(data_dir, manifest_dir):
    """Writes the manifests (``prepare_desed`` reuses up-to-date ones).

    Arguments
    ---------
    data_dir : str or os.PathLike
        The dataset folder.
    manifest_dir : str or os.PathLike
        Where the manifests go.

    Returns
    -------
    dict
        ``prepare_desed``'s paths.
    """
    from speechbrain_atst.data.desed import prepare_desed

    out = prepare_desed(str(data_dir), str(manifest_dir))
    for name in ("synth_train", "strong_train", "weak_train", "unlabeled"):
        if name in out:
            with open(out[name], encoding="utf-8") as fin:
                print(f"{name:13s} {len(json.load(fin)):5d} clips")
    return out


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
    return (Path(run_dir) / "test" / "metrics.json").is_file()


def stage_command(stage, layout, seed, device, overrides):
    """The command line of one training stage.

    Arguments
    ---------
    stage : int
        1 or 2.
    layout : dict
        See :func:`output_layout`.
    seed : int
        Training seed.
    device : str
        ``cpu``, ``cuda:0``...
    overrides : dict
        Recipe overrides (see :func:`quickstart_overrides`).

    Returns
    -------
    list of str
        ``python train.py hparams/stageN.yaml --key=value...``.
    """
    from speechbrain_atst.training.recipe_args import to_arguments

    recipe = recipe_dir()
    values = {
        "data_folder": str(layout["data"].resolve()),
        "manifest_folder": str(layout["manifests"].resolve()),
        "output_folder": str(layout[f"stage{stage}"].resolve()),
        "skip_prep": True,
        "seed": int(seed),
    }
    if stage == 2:
        values["stage1_ckpt"] = str(layout["stage1"].resolve())
    values.update(overrides)
    return [
        sys.executable,
        str(recipe / "train.py"),
        str(recipe / "hparams" / f"stage{stage}.yaml"),
        f"--device={device}",
        *to_arguments(values),
    ]


def stream_command(cmd, log_path, cwd=None, env=None, out=None):
    """Runs a command, copying its output (stdout and stderr) as it comes.

    The output goes to ``out`` unchanged (progress bars included) and is
    appended to ``log_path``.

    Arguments
    ---------
    cmd : list of str
        The command.
    log_path : str or os.PathLike
        Log file (appended to).
    cwd : str or os.PathLike, optional
        Working directory.
    env : dict, optional
        Environment.
    out : file, optional
        Text stream to copy the output to (``sys.stdout``).

    Returns
    -------
    int
        The exit status.

    Example
    -------
    >>> import io, sys
    >>> buf = io.StringIO()
    >>> log = getfixture("tmp_path") / "log.txt"
    >>> stream_command([sys.executable, "-c", "print('hi')"], log, out=buf)
    0
    >>> buf.getvalue(), log.read_text()
    ('hi\\n', 'hi\\n')
    """
    out = sys.stdout if out is None else out
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            while True:
                chunk = proc.stdout.read1(65536)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                out.write(decoder.decode(chunk))
                out.flush()
            out.write(decoder.decode(b"", final=True))
            return proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdout.close()


def _child_env():
    """Environment of the recipe subprocesses."""
    env = dict(os.environ)
    root = str(Path(speechbrain_atst.__file__).resolve().parents[1])
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = root + (os.pathsep + path if path else "")
    env["PYTHONUNBUFFERED"] = "1"
    # OpenMP threads that sleep instead of spinning while they wait: on a
    # CPU shared with other work, spinning threads make training several
    # times slower; on an idle machine the cost is negligible.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def run_stage(stage, layout, seed, device, overrides):
    """Runs (or resumes) one training stage of the recipe.

    Arguments
    ---------
    stage : int
        1 or 2.
    layout : dict
        See :func:`output_layout`.
    seed : int
        Training seed.
    device : str
        The device.
    overrides : dict
        Recipe overrides.

    Raises
    ------
    QuickstartError
        If the recipe fails or writes no test metrics.
    """
    cmd = stage_command(stage, layout, seed, device, overrides)
    log_path = layout["logs"] / f"stage{stage}.log"
    recipe = recipe_dir()
    # As typed in the recipe folder: script and YAML relative to it.
    relative = [str(Path(c).relative_to(recipe)) for c in cmd[1:3]]
    shown = ["python", *relative, *cmd[3:]]
    print(f"$ cd {recipe}\n$ {shlex.join(shown)}", flush=True)
    status = stream_command(cmd, log_path, cwd=str(recipe), env=_child_env())
    if status != 0:
        raise QuickstartError(
            f"Stage {stage} training failed (exit status {status}); its "
            f"output is in {log_path}. Rerun the quickstart to resume."
        )
    if not stage_done(layout[f"stage{stage}"]):
        raise QuickstartError(
            f"Stage {stage} finished without "
            f"{layout[f'stage{stage}'] / 'test' / 'metrics.json'}; see "
            f"{log_path}"
        )


def load_stage_hparams(layout, seed, overrides, stage=1):
    """The hyperparameters of a stage, loaded as the recipe loads them.

    Loading them seeds the random generators with ``seed`` and builds the
    student and teacher exactly as a new run of the recipe does.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.
    seed : int
        Training seed.
    overrides : dict
        Recipe overrides.
    stage : int
        1 or 2.

    Returns
    -------
    dict
        The loaded hyperparameters.
    """
    from hyperpyyaml import load_hyperpyyaml

    values = {
        "data_folder": str(layout["data"].resolve()),
        "manifest_folder": str(layout["manifests"].resolve()),
        "output_folder": str(layout["untrained"].resolve()),
        "seed": int(seed),
    }
    if stage == 2:
        values["stage1_ckpt"] = None
    values.update(overrides)
    path = recipe_dir() / "hparams" / f"stage{stage}.yaml"
    with open(path, encoding="utf-8") as fin:
        return load_hyperpyyaml(fin, values)


def evaluate_model(model, hparams, device, scores_dir=None):
    """Metrics of a model on the validation split, as the recipe's test.

    The clips of ``<manifest_folder>/validation.json`` are scored in 10 s
    windows by the model in eval mode; the scores are median-filtered with
    ``median_windows`` and evaluated against the ground truth written by
    ``prepare_desed`` with ``evaluate_clip_scores``, as in the recipe's test
    pass.

    Arguments
    ---------
    model : ATSTSED
        The model.
    hparams : dict
        Recipe hyperparameters (``classes``, ``manifest_folder``,
        ``data_folder``, ``median_windows``, ``valid_batch_size``,
        ``cnn_features``, ``atst_features``).
    device : str
        The device.
    scores_dir : str or os.PathLike, optional
        Where to write the score TSVs.

    Returns
    -------
    dict or None
        The metrics of ``evaluate_clip_scores`` (None if no clip has an
        event).
    """
    import torch
    from speechbrain.dataio.batch import PaddedBatch
    from tqdm import tqdm

    from speechbrain_atst import evaluation
    from speechbrain_atst.labels import ManyHotEncoder
    from speechbrain_atst.training.dataio import make_dataset

    classes = list(hparams["classes"])
    folder = Path(hparams["manifest_folder"])
    dataset = make_dataset(
        str(folder / "validation.json"),
        "strong",
        ManyHotEncoder(classes),
        hparams["data_folder"],
        train=False,
        name="validation",
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=int(hparams["valid_batch_size"]),
        collate_fn=PaddedBatch,
    )
    cnn_fe = hparams["cnn_features"].to(device)
    atst_fe = hparams["atst_features"].to(device)
    model = model.to(device).eval()
    scores = {}
    with torch.inference_mode():
        for batch in tqdm(loader, desc="untrained", file=sys.stdout):
            wav = batch.sig.data.to(device)
            strong, _ = model(cnn_fe(wav), atst_fe(wav))
            for clip_id, clip in zip(batch.id, strong.float().cpu().numpy()):
                scores[clip_id] = clip
    frames, metrics = evaluation.evaluate_clip_scores(
        scores,
        evaluation.read_ground_truth(folder / "validation_gt.tsv"),
        evaluation.read_durations(folder / "validation_durations.tsv"),
        classes,
        hparams["median_windows"],
        name="validation",
    )
    if scores_dir is not None:
        evaluation.write_scores(frames, scores_dir)
    return metrics


def run_untrained(layout, seed, device, overrides):
    """Evaluates the untrained model and writes ``untrained/metrics.json``.

    The model is the student the stage-1 recipe starts from with this
    seed (same architecture, random initialisation, nothing trained).

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.
    seed : int
        Training seed.
    device : str
        The device.
    overrides : dict
        Recipe overrides.

    Returns
    -------
    dict
        The metrics.
    """
    hparams = load_stage_hparams(layout, seed, overrides, stage=1)
    folder = layout["untrained"]
    folder.mkdir(parents=True, exist_ok=True)
    metrics = evaluate_model(
        hparams["student"], hparams, device, scores_dir=folder / "scores"
    )
    out = {
        "untrained": metrics,
        "seed": int(seed),
        "median_windows": list(hparams["median_windows"]),
        "model": "stage-1 starting weights (random initialisation)",
    }
    with open(folder / "metrics.json", "w", encoding="utf-8") as fout:
        json.dump(out, fout, indent=2, default=_plain)
    print(
        f"untrained model: PSDS1 {metrics['psds1']:.3f}, "
        f"PSDS2 {metrics['psds2']:.3f}"
    )
    return metrics


def detection_clip(manifest_dir, data_dir):
    """The validation clip shown by the detect step.

    The 10 s clip with the most event classes (then the most events, then
    the first by name), so that the plot shows several classes.

    Arguments
    ---------
    manifest_dir : str or os.PathLike
        The manifests folder.
    data_dir : str or os.PathLike
        The dataset folder.

    Returns
    -------
    pathlib.Path
        The audio file.
    """
    with open(Path(manifest_dir) / "validation.json", encoding="utf-8") as fin:
        clips = json.load(fin)

    def rank(item):
        clip_id, entry = item
        events = entry.get("events") or []
        full = float(entry.get("duration") or 0) >= 10.0
        return (-int(full), -len({e[2] for e in events}), -len(events), clip_id)

    _, entry = min(clips.items(), key=rank)
    return Path(entry["wav"].replace("{data_root}", str(data_dir)))


def run_detect(layout, device):
    """Runs ``speechbrain-atst detect`` with the exported model.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.
    device : str
        The device.

    Returns
    -------
    pathlib.Path
        The audio file processed.
    """
    from speechbrain_atst.cli import main

    clip = detection_clip(layout["manifests"], layout["data"])
    argv = [
        "detect",
        str(clip),
        "--model",
        str(layout["model"]),
        "--out",
        str(layout["events"]),
        "--plot",
        str(layout["plots"]),
        "--device",
        device,
    ]
    print(f"$ speechbrain-atst {shlex.join(argv)}", flush=True)
    status = main(argv)
    if status != 0:
        raise QuickstartError(f"detect failed (exit status {status})")
    return clip


# ---------------------------------------------------------------------------
# Results and summary
# ---------------------------------------------------------------------------


def _plain(obj):
    """JSON form of numpy scalars and arrays (``json.dump``'s default)."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Not serialisable: {type(obj).__name__}")


def _read_json(path):
    """A JSON file, or None if it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fin:
        return json.load(fin)


def training_speed(train_log):
    """Optimizer steps and training seconds of a run, from its train log.

    Arguments
    ---------
    train_log : str or os.PathLike
        The run's ``train_log.txt``.

    Returns
    -------
    dict or None
        ``steps``, ``epochs``, ``seconds`` (training time, validation
        excluded) and ``seconds_per_step``; None without a log.

    Example
    -------
    >>> log = getfixture("tmp_path") / "train_log.txt"
    >>> _ = log.write_text(
    ...     "epoch: 1, step: 10, lr_cnn: 1e-3 - train loss: 1.0, train "
    ...     "seconds: 20.0\\nepoch: 2, step: 20, lr_cnn: 1e-3 - train "
    ...     "loss: 0.5, train seconds: 2.2e+01 - valid loss: 0.4\\n"
    ... )
    >>> training_speed(log)["seconds_per_step"]
    2.1
    """
    path = Path(train_log)
    if not path.is_file():
        return None
    steps = epochs = 0
    seconds = 0.0
    number = r"([-+0-9.eE]+)"
    for line in path.read_text(encoding="utf-8").splitlines():
        head = re.match(r"epoch: (\d+), step: (\d+)", line)
        took = re.search(r"train seconds: " + number, line)
        if head and took:
            epochs = max(epochs, int(head.group(1)))
            steps = max(steps, int(head.group(2)))
            seconds += float(took.group(1))
    if not steps:
        return None
    return {
        "steps": steps,
        "epochs": epochs,
        "seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / steps, 3),
    }


def collect_results(layout):
    """Metrics of every model and training speed of both stages.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.

    Returns
    -------
    dict
        ``metrics`` (``{row name: evaluate_scores dict}`` for
        ``untrained``, ``stage1 student``... ``stage2 teacher``) and
        ``speed`` (``{stage1, stage2: training_speed}``).
    """
    metrics, speed = {}, {}
    untrained = _read_json(layout["untrained"] / "metrics.json")
    if untrained:
        metrics["untrained"] = untrained["untrained"]
    for stage in ("stage1", "stage2"):
        test = _read_json(layout[stage] / "test" / "metrics.json") or {}
        for who in ("student", "teacher"):
            if isinstance(test.get(who), dict):
                metrics[f"{stage} {who}"] = test[who]
        speed[stage] = training_speed(layout[stage] / "train_log.txt")
    return {"metrics": metrics, "speed": speed}


def _metric(values, key):
    """A metric formatted for the summary table (``-`` if missing)."""
    value = values.get(key)
    if not isinstance(value, (int, float)) or value != value:
        return "-"
    return f"{value:.3f}"


def _fmt_seconds(seconds):
    """``"7 min 12 s"`` or ``"42.0 s"``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(round(seconds % 60)):02d} s"


def summary_text(layout, results, timings, arch, total_seconds):
    """The summary table printed at the end.

    Arguments
    ---------
    layout : dict
        See :func:`output_layout`.
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
    """
    lines = [
        "=" * 72,
        "ATST-SED quickstart: summary",
        "=" * 72,
        "NOTE: the ATST-Frame transformer is a small one "
        f"({arch['embed_dim']}-dim, {arch['depth']} blocks, "
        f"{arch['num_heads']} heads)",
        "initialised at random, not the pretrained ATST-Frame: these "
        "figures show",
        "that the pipeline learns; they are not comparable to the paper's.",
        "",
    ]
    metrics = results["metrics"]
    n_files = next((m.get("n_files_all") for m in metrics.values() if m), None)
    lines.append(
        'Metrics on the synthetic "real" validation split'
        + (f" ({n_files} clips)" if n_files else "")
        + ":"
    )
    labels = {
        name: name + (" (exported)" if name == "stage2 teacher" else "")
        for name in metrics
    }
    width = max([len(v) for v in labels.values()] + [5])
    header = f"  {'model':<{width}}" + "".join(
        f" {title:>9}" for title, _ in SUMMARY_METRICS
    )
    lines.append(header)
    for name, values in metrics.items():
        cells = "".join(
            f" {_metric(values, key):>9}" for _, key in SUMMARY_METRICS
        )
        lines.append(f"  {labels[name]:<{width}}{cells}")
    best = metrics.get("stage2 teacher")
    if best and best.get("psds1_per_class"):
        lines.append("")
        lines.append("  stage-2 teacher PSDS1 per class:")
        items = list(best["psds1_per_class"].items())
        for i in range(0, len(items), 2):
            lines.append(
                "    "
                + "   ".join(f"{c:<27s}{v:6.3f}" for c, v in items[i : i + 2])
            )
    lines.append("")
    lines.append("Training (time per optimizer step, validation excluded):")
    for stage, speed in results["speed"].items():
        if speed:
            lines.append(
                f"  {stage}: {speed['steps']} steps in {speed['epochs']} "
                f"epochs, {speed['seconds_per_step']:.2f} s/step "
                f"({_fmt_seconds(speed['seconds'])})"
            )
    lines.append("")
    lines.append("Time of each step:")
    for step, title in STEPS.items():
        info = timings.get(step)
        if not info:
            continue
        took = _fmt_seconds(info.get("seconds"))
        if info.get("skipped"):
            took = "skipped" + (
                f" (took {took} when done)" if info.get("seconds") else ""
            )
        lines.append(f"  {step:<10s}{took:<34s}{title}")
    lines.append(f"  {'total':<10s}{_fmt_seconds(total_seconds)} (this run)")
    if any(info.get("skipped") for info in timings.values()):
        known = [info.get("seconds") or 0.0 for info in timings.values()]
        lines.append(
            f"  {'':<10s}{_fmt_seconds(sum(known))} (all steps, as timed "
            "when done)"
        )
    lines.append("")
    lines.append(f"Outputs (under {layout['root']}):")
    where = [
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
    ]
    for key, text in where:
        lines.append(f"  {layout[key]}  {text}")
    lines.append("=" * 72)
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------


def _load_timings(path):
    """Recorded step times of earlier runs."""
    return _read_json(path) or {}


def _save_timings(path, timings):
    """Writes the recorded step times."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(timings, fout, indent=2)


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
    """Runs the quickstart pipeline (see the module docstring).

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
        (see :func:`collect_results`), ``timings``, ``total_seconds``,
        ``outputs``, ``text``.
    """
    t_start = time.perf_counter()
    layout = output_layout(out_dir)
    layout["root"].mkdir(parents=True, exist_ok=True)
    device = device or default_device()
    overrides = quickstart_overrides(overrides)
    stage_overrides = {1: dict(overrides), 2: dict(overrides)}
    if stage1_epochs is not None:
        stage_overrides[1]["number_of_epochs"] = int(stage1_epochs)
    if stage2_epochs is not None:
        stage_overrides[2]["number_of_epochs"] = int(stage2_epochs)
    arch = {
        "embed_dim": overrides.get("atst_embed_dim"),
        "depth": overrides.get("atst_depth"),
        "num_heads": overrides.get("atst_num_heads"),
    }
    recorded = _load_timings(layout["timings"])
    timings = {}

    def step(index, name, done, action):
        title = STEPS[name]
        print(f"\n[{index}/{len(STEPS)}] {title}", flush=True)
        if done:
            print("    already done: skipped", flush=True)
            previous = recorded.get(name, {}).get("seconds")
            timings[name] = {"seconds": previous, "skipped": True}
            return
        t0 = time.perf_counter()
        action()
        seconds = round(time.perf_counter() - t0, 1)
        timings[name] = {"seconds": seconds, "skipped": False}
        recorded[name] = {
            "seconds": seconds,
            "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        _save_timings(layout["timings"], recorded)

    print(
        f"ATST-SED quickstart in {layout['root']} on {device}: scale "
        f"{scale}, seed {seed}. The ATST-Frame transformer is a SMALL one "
        f"({arch['embed_dim']}-dim, {arch['depth']} blocks, "
        f"{arch['num_heads']} heads) INITIALISED AT RANDOM (no pretrained "
        "checkpoint is downloaded).",
        flush=True,
    )
    recipe_dir()  # fails early if the recipe is not installed
    data_seed = int(data_seed)
    step(
        1,
        "synth",
        synth_done(layout["data"], scale, data_seed),
        lambda: run_synth(layout["data"], scale, data_seed),
    )
    # prepare_desed reuses manifests that are up to date with the data.
    step(
        2,
        "prepare",
        False,
        lambda: run_prepare(layout["data"], layout["manifests"]),
    )
    for stage in (1, 2):
        step(
            2 + stage,
            f"stage{stage}",
            stage_done(layout[f"stage{stage}"]),
            lambda stage=stage: run_stage(
                stage, layout, seed, device, stage_overrides[stage]
            ),
        )
    step(
        5,
        "untrained",
        (layout["untrained"] / "metrics.json").is_file(),
        lambda: run_untrained(layout, seed, device, stage_overrides[1]),
    )

    def export():
        from speechbrain_atst.inference import export_run

        folder = export_run(layout["stage2"], layout["model"], "teacher")
        print(f"Model folder: {folder}")

    step(6, "export", (layout["model"] / "model.ckpt").is_file(), export)
    clip = detection_clip(layout["manifests"], layout["data"])
    png = layout["plots"] / f"{clip.stem}.png"
    step(
        7,
        "detect",
        layout["events"].is_file() and png.is_file(),
        lambda: run_detect(layout, device),
    )

    total = time.perf_counter() - t_start
    results = collect_results(layout)
    text = summary_text(layout, results, timings, arch, total)
    outputs = {k: str(v) for k, v in layout.items()}
    outputs["plot"] = str(png)
    outputs["detect_clip"] = str(clip)
    summary = {
        "results": results,
        "timings": timings,
        "total_seconds": round(total, 1),
        "outputs": outputs,
        "arch": arch,
        "device": device,
        "scale": scale,
        "seed": seed,
        "data_seed": data_seed,
        "text": text,
    }
    with open(layout["summary_json"], "w", encoding="utf-8") as fout:
        json.dump(summary, fout, indent=2)
    layout["summary_txt"].write_text(text + "\n", encoding="utf-8")
    print("\n" + text, flush=True)
    return summary
