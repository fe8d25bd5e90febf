"""Publishing models: trained runs and official checkpoints to model folders.

A model folder is what :meth:`SEDInterface.from_hparams` loads, locally or
from a model hub:

* ``hyperparams.yaml``: the inference template ``hparams/inference.yaml``
  with the model's classes, transformer size and median filters;
* ``model.ckpt``: the ATSTSED weights as a plain state dict (tensors only,
  readable with ``torch.load(..., weights_only=True)``);
* ``README.md``: a model card (front matter, classes, test metrics when
  known, usage, limitations, citation).

:func:`export_run` takes the best checkpoint of a training run (by the
run's objective), :func:`convert_official` an official ATST-SED checkpoint.
Every folder is checked before it is written: the YAML is built and the
weights are loaded into it strictly.

Authors
 * speechbrain-atst team 2026
"""

import datetime
import json
import math
import re
from pathlib import Path

import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_atst.checkpoints import (
    NETWORKS,
    find_best_checkpoint,
    load_checkpoint,
    load_state_dict_strict,
    read_run_config,
)
from speechbrain_atst.labels import (
    DESED_CLASSES,
    load_classes,
    per_class_values,
)
from speechbrain_atst.resources import INFERENCE_TEMPLATE, shipped_path

#: Model folder file names.
HPARAMS_FILE = "hyperparams.yaml"
WEIGHTS_FILE = "model.ckpt"
CARD_FILE = "README.md"
#: Which network of a run (or an official checkpoint) to publish.
WHICH = NETWORKS
#: Keys of the template filled in for each model.
FILLED_KEYS = (
    "classes",
    "n_classes",
    "embed_dim",
    "depth",
    "num_heads",
    "median_windows",
    "threshold",
)

CITATION = """\
@inproceedings{shao2024atstsed,
  title     = {Fine-tune the pretrained {ATST} model for sound event
               detection},
  author    = {Shao, Nian and Li, Xian and Li, Xiaofei},
  booktitle = {Proc. IEEE International Conference on Acoustics, Speech
               and Signal Processing (ICASSP)},
  year      = {2024},
  note      = {arXiv:2309.08153}
}"""


def template_path():
    """Path of the inference hyperparameters template.

    Returns
    -------
    pathlib.Path
        ``hparams/inference.yaml``, shipped with the package (see
        :mod:`speechbrain_atst.resources`).

    Example
    -------
    >>> template_path().name
    'inference.yaml'
    """
    return shipped_path(*INFERENCE_TEMPLATE)


def render_hyperparams(template, values):
    """Fills the top-level keys of a hyperparameters template.

    Each key in ``values`` must appear exactly once at the start of a line
    (``key: value``) with an inline value; that value is replaced by the
    JSON form of the new one (JSON is valid YAML). Comments, tags and
    references are kept.

    Arguments
    ---------
    template : str
        The template text.
    values : dict
        ``{key: value}`` with JSON-serialisable values.

    Returns
    -------
    str
        The filled text.

    Example
    -------
    >>> render_hyperparams("a: 1  # one\\nb: [x]\\n", {"b": ["y", "z"]})
    'a: 1  # one\\nb: ["y", "z"]\\n'
    """
    for key, value in values.items():
        pattern = re.compile(rf"^{re.escape(key)}:[ \t]*[^\n]*$", re.MULTILINE)
        found = pattern.findall(template)
        if len(found) != 1:
            raise ValueError(
                f"The template must define '{key}:' once on one line, found "
                f"{len(found)} times"
            )
        line = f"{key}: {json.dumps(value)}"
        template = pattern.sub(lambda _m, line=line: line, template)
    return template


def _plain_state_dict(state):
    """Detached, contiguous CPU copies of the tensors of a state dict."""
    out = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"State dict entry {key} is not a tensor")
        out[key] = value.detach().cpu().contiguous().clone()
    return out


def write_model_folder(
    state_dict,
    out_dir,
    classes,
    embed_dim,
    depth,
    num_heads,
    median_windows,
    threshold=0.5,
    card=None,
):
    """Writes a model folder that :class:`SEDInterface` loads.

    Arguments
    ---------
    state_dict : dict
        ATSTSED weights (official CRNN key names).
    out_dir : str or os.PathLike
        Destination folder (created; existing model files are replaced).
    classes : sequence of str
        The class list, in output order.
    embed_dim, depth, num_heads : int
        ATST-Frame size.
    median_windows : int or sequence of int
        Median filter length per class (frames).
    threshold : float or sequence of float
        Default decision threshold(s).
    card : dict, optional
        Extra model-card content: ``title``, ``origin`` (markdown
        paragraph), ``metrics`` (``{name: value}``), ``metrics_source``,
        ``training`` (markdown paragraph), ``data`` (markdown: the training
        data), ``datasets`` (names for the front matter; DESED by default).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    speechbrain_atst.checkpoints.CheckpointError
        If the weights do not fit the described architecture.
    """
    classes = load_classes(list(classes))
    windows = [int(w) for w in per_class_values(median_windows, classes)]
    if isinstance(threshold, (int, float)):
        threshold = float(threshold)
    else:
        threshold = [float(t) for t in per_class_values(threshold, classes)]
    values = {
        "classes": classes,
        "n_classes": len(classes),
        "embed_dim": int(embed_dim),
        "depth": int(depth),
        "num_heads": int(num_heads),
        "median_windows": windows,
        "threshold": threshold,
    }
    text = render_hyperparams(template_path().read_text("utf-8"), values)
    state = _plain_state_dict(state_dict)
    # Check before writing anything: the YAML builds and the weights fit.
    hparams = load_hyperpyyaml(text)
    load_state_dict_strict(
        hparams["model"],
        state,
        "weights to export",
        hint=f"The architecture is embed_dim={embed_dim}, depth={depth}, "
        f"num_heads={num_heads}, {len(classes)} classes.",
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / HPARAMS_FILE).write_text(text, encoding="utf-8")
    torch.save(state, out_dir / WEIGHTS_FILE)
    n_params = sum(v.numel() for v in state.values())
    (out_dir / CARD_FILE).write_text(
        model_card(values, n_params, card or {}), encoding="utf-8"
    )
    return out_dir


def _format_metric(value):
    """Formats a metric value for the card's table."""
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return str(value)


def model_card(values, n_params, card):
    """The README.md of a model folder.

    Arguments
    ---------
    values : dict
        The filled hyperparameters (see :data:`FILLED_KEYS`).
    n_params : int
        Number of weights.
    card : dict
        Extra content (see :func:`write_model_folder`).

    Returns
    -------
    str
        Markdown with YAML front matter.

    Example
    -------
    >>> values = dict(
    ...     classes=["Dog"],
    ...     n_classes=1,
    ...     embed_dim=768,
    ...     depth=12,
    ...     num_heads=12,
    ...     median_windows=[7],
    ...     threshold=0.5,
    ... )
    >>> text = model_card(values, 10, {"metrics": {"psds1": 0.5}})
    >>> text.splitlines()[0], "| psds1 | 0.5000 |" in text
    ('---', True)
    """
    title = card.get("title", "ATST-SED sound event detection")
    size = f"{values['embed_dim']}/{values['depth']}/{values['num_heads']}"
    lines = [
        "---",
        "language: en",
        "license: apache-2.0",
        "library_name: speechbrain",
        "pipeline_tag: audio-classification",
        "tags:",
        "  - sound-event-detection",
        "  - audio",
        "  - speechbrain",
        "  - speechbrain-atst",
        "  - ATST-SED",
        "datasets:",
        *[f"  - {name}" for name in card.get("datasets", ["DESED"])],
        "metrics:",
        "  - PSDS",
        "---",
        "",
        f"# {title}",
        "",
        "Sound event detection with ATST-SED (Shao, Li, Li, ICASSP 2024): a "
        "CRNN fused with the ATST-Frame audio transformer, run with the "
        "speechbrain-atst SpeechBrain plugin. The "
        "model outputs one score per class every 64 ms; events are the "
        "median-filtered scores above a threshold.",
        "",
    ]
    if card.get("origin"):
        lines += [card["origin"], ""]
    lines += [
        "| | |",
        "| --- | --- |",
        f"| Transformer (embed_dim/depth/heads) | {size} |",
        f"| Weights | {n_params:,} |",
        f"| Classes | {values['n_classes']} |",
        f"| Default threshold | {values['threshold']} |",
        "| Input | any audio; resampled to 16 kHz mono, 10 s windows |",
        "",
        "## Classes",
        "",
        "| # | Class | Median filter (frames of 64 ms) |",
        "| --- | --- | --- |",
    ]
    for i, (name, win) in enumerate(
        zip(values["classes"], values["median_windows"])
    ):
        lines.append(f"| {i} | {name} | {win} |")
    lines.append("")
    metrics = card.get("metrics")
    if metrics:
        lines += ["## Results", ""]
        if card.get("metrics_source"):
            lines += [card["metrics_source"], ""]
        lines += ["| Metric | Value |", "| --- | --- |"]
        lines += [f"| {k} | {_format_metric(v)} |" for k, v in metrics.items()]
        lines.append("")
    if card.get("data"):
        lines += ["## Training data", "", card["data"], ""]
    lines += [
        "## Usage",
        "",
        "```bash",
        "pip install speechbrain-atst  # or: pip install -e <source tree>",
        "```",
        "",
        "```python",
        "from speechbrain_atst.inference import SEDInterface",
        "",
        'sed = SEDInterface.from_hparams(source="<this folder or hub id>")',
        "# Any length, sample rate and number of channels:",
        'events = sed.detect_file("recording.wav")  # DataFrame',
        "print(events)  # filename, onset, offset, event_label, score",
        "# Per-class thresholds: a list or {class: threshold}",
        'events = sed.detect_file("recording.wav", threshold=0.3)',
        "# Median-filtered frame scores (sed_scores_eval format):",
        'scores = sed.scores_file("recording.wav")',
        "```",
        "",
        'On a GPU: `from_hparams(..., run_opts={"device": "cuda"})`; add '
        '`"precision": "bf16"` for bf16 autocast.',
        "",
        "From the command line (events TSV, score TSVs, one PNG per file):",
        "",
        "```bash",
        "speechbrain-atst detect audio_dir/ --model <this folder> "
        "--out events.tsv --scores_dir scores/ --plot plots/",
        "```",
        "",
        "Long recordings are processed in 10 s windows every "
        "`hop_seconds` (8 s by default, `hyperparams.yaml`); the scores of "
        "overlapping windows are averaged on the exact 64 ms grid before "
        "median filtering.",
        "",
    ]
    if card.get("training"):
        lines += ["## Training", "", card["training"], ""]
    lines += [
        "## Files",
        "",
        "- `hyperparams.yaml`: classes, architecture, post-processing, "
        "long-audio windowing.",
        "- `model.ckpt`: the weights, a plain PyTorch state dict "
        "(`torch.load(path, weights_only=True)`).",
        "",
        "## Limitations",
        "",
        "- Only the classes above are detected; other sounds may trigger the "
        "closest class or nothing.",
        "- Trained on 10 s clips of its training set (for DESED models: "
        "domestic sounds in synthetic soundscapes and YouTube clips); "
        "accuracy on other domains and recording conditions is unknown.",
        "- Event boundaries are quantised to 64 ms frames and smoothed by "
        "the median filters; very short or overlapping events of one class "
        "may merge.",
        "- Thresholds trade missed events for false alarms; tune them on "
        "labelled data from your domain.",
        "- Provided without any warranty; do not use it for safety-critical "
        "decisions.",
        "",
        "## Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
        f"Model folder written by speechbrain-atst on "
        f"{datetime.date.today().isoformat()}.",
        "",
    ]
    return "\n".join(lines)


def _read_json(path):
    """Reads a JSON file, naming it in errors."""
    try:
        with open(path, encoding="utf-8") as fin:
            return json.load(fin)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON ({err})") from None


def _check_which(which):
    """Validates ``which``."""
    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")


def _test_metrics(run_dir, which):
    """Scalar test metrics of ``which`` from ``test/metrics.json``."""
    path = Path(run_dir) / "test" / "metrics.json"
    if not path.is_file():
        return None
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get(which), dict):
        data = data[which]
    if not isinstance(data, dict):
        return None
    metrics = {
        k: v
        for k, v in data.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    return metrics or None


def export_run(
    run_dir, out_dir, which="teacher", card=None, allow_latest=False
):
    """Publishes the best checkpoint of a training run as a model folder.

    Arguments
    ---------
    run_dir : str or os.PathLike
        The run's ``output_folder``: ``model_config.json`` (classes,
        transformer size, median windows, objective) and ``save/CKPT+*``
        checkpoints holding ``student.ckpt`` and ``teacher.ckpt``;
        ``test/metrics.json`` is quoted in the model card if present.
    out_dir : str or os.PathLike
        Destination folder.
    which : str
        ``"teacher"`` (the EMA teacher, default, usually the better one)
        or ``"student"``.
    card : dict, optional
        Model-card entries replacing the run's defaults (``title``,
        ``origin``, ``metrics``, ``metrics_source``, ``training``; see
        :func:`write_model_folder`).
    allow_latest : bool
        Export the latest checkpoint of a run without validation (no
        objective); by default such a run is an error.

    Returns
    -------
    pathlib.Path
        The model folder.
    """
    _check_which(which)
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    ckpt, _ = find_best_checkpoint(run_dir, allow_latest=allow_latest)
    if which not in ckpt.paramfiles:
        raise KeyError(
            f"{ckpt.path} has no '{which}' weights; it holds "
            f"{sorted(ckpt.paramfiles)}"
        )
    state = load_checkpoint(ckpt.paramfiles[which])
    classes = load_classes(config["classes"])
    atst = config.get("atst", {})
    key = config.get("objective_key", "objective")
    objective = ckpt.meta.get(key)
    stage = config.get("stage")
    origin = (
        f"Exported from the training run `{run_dir.name}`"
        + (f" (stage {stage})" if stage is not None else "")
        + f": the {which} of checkpoint `{Path(ckpt.path).name}`, the best "
        f"by `{key}` ({config.get('objective_mode', 'max')})"
        + (f" = {objective:.4f}" if isinstance(objective, float) else "")
        + "."
    )
    defaults = {
        "origin": origin,
        "metrics": _test_metrics(run_dir, which),
        "metrics_source": f"Test metrics of the run's {which} "
        "(`test/metrics.json`).",
        "training": "Trained with `recipes/DESED/SED/train.py` of "
        "speechbrain-atst (stage 1: CRNN with a frozen ATST-Frame; stage 2: "
        "joint fine-tuning; mean teacher and ICT)"
        + (f", stage {stage}." if stage is not None else "."),
    }
    return write_model_folder(
        state,
        out_dir,
        classes=classes,
        embed_dim=atst.get("embed_dim", 768),
        depth=atst.get("depth", 12),
        num_heads=atst.get("num_heads", 12),
        median_windows=config.get("median_windows", 7),
        card={**defaults, **(card or {})},
    )


def convert_official(
    ckpt,
    out_dir,
    which="teacher",
    embed_dim=768,
    depth=12,
    num_heads=12,
    trust_checkpoint=False,
):
    """Publishes an official ATST-SED checkpoint as a model folder.

    The model has the ten DESED classes and the stage-2 median filters of
    the paper.

    Arguments
    ---------
    ckpt : str or os.PathLike
        Official stage-1 / stage-2 checkpoint (``sed_student`` and
        ``sed_teacher`` weights).
    out_dir : str or os.PathLike
        Destination folder.
    which : str
        ``"teacher"`` (default, what the official inference uses) or
        ``"student"``.
    embed_dim, depth, num_heads : int
        ATST-Frame size (768 / 12 / 12 for the released models).
    trust_checkpoint : bool
        Allow full unpickling of the file (only for trusted files; official
        Lightning checkpoints hold Python objects besides tensors).

    Returns
    -------
    pathlib.Path
        The model folder.
    """
    from speechbrain_atst.evaluation import STAGE2_MEDIAN_WINDOWS
    from speechbrain_atst.lobes.atst_sed import ATSTSED

    _check_which(which)
    model = ATSTSED.from_official_checkpoint(
        ckpt,
        which=which,
        atst_kwargs={
            "embed_dim": embed_dim,
            "depth": depth,
            "num_heads": num_heads,
        },
        n_classes=len(DESED_CLASSES),
        trust_checkpoint=trust_checkpoint,
    )
    card = {
        "origin": f"Converted from the official ATST-SED checkpoint "
        f"`{Path(ckpt).name}` (its {which}).",
        "training": "Trained by the ATST-SED authors with their official "
        "code (https://github.com/Audio-WestlakeU/ATST-SED) on DESED.",
    }
    return write_model_folder(
        model.state_dict(),
        out_dir,
        classes=DESED_CLASSES,
        embed_dim=embed_dim,
        depth=depth,
        num_heads=num_heads,
        median_windows=list(STAGE2_MEDIAN_WINDOWS),
        card=card,
    )
