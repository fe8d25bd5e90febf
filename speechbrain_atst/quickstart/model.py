"""The trained model: exported as a model folder, then used for detection.

``export`` publishes the stage-2 teacher as a model folder
(:func:`~speechbrain_atst.inference.export_run`); ``detect`` loads it with
:class:`~speechbrain_atst.inference.SEDInterface` and detects the events
of a validation clip with :func:`~speechbrain_atst.inference.detect_files`
(the function behind ``speechbrain-atst detect``): an events TSV and a PNG.

Authors
 * speechbrain-atst team 2026
"""

import json
import shlex
from pathlib import Path

from speechbrain_atst.quickstart.layout import QuickstartError, plot_path

#: The model of the stage-2 run that is exported.
EXPORTED = "teacher"
#: Clips at least this long (s) are preferred for the detect step.
FULL_CLIP_SECONDS = 10.0


def run_export(layout):
    """Exports the stage-2 teacher as ``<out_dir>/model``.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.

    Returns
    -------
    pathlib.Path
        The model folder.
    """
    from speechbrain_atst.inference import export_run

    folder = export_run(layout["stage2"], layout["model"], EXPORTED)
    print(f"Model folder: {folder}")
    return folder


def _clip_rank(item):
    """Sort key of a manifest entry: full clips, most classes, most events,
    then the first by name."""
    clip_id, entry = item
    events = entry.get("events") or []
    full = float(entry.get("duration") or 0) >= FULL_CLIP_SECONDS
    return (-int(full), -len({e[2] for e in events}), -len(events), clip_id)


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

    Example
    -------
    >>> import json
    >>> tmp = getfixture("tmp_path")
    >>> clips = {
    ...     "a": {"wav": "{data_root}/a.wav", "duration": 10.0, "events": []},
    ...     "b": {
    ...         "wav": "{data_root}/b.wav",
    ...         "duration": 10.0,
    ...         "events": [[0, 1, "Dog"], [2, 3, "Cat"]],
    ...     },
    ... }
    >>> _ = (tmp / "validation.json").write_text(json.dumps(clips))
    >>> detection_clip(tmp, "/data").as_posix()
    '/data/b.wav'
    """
    with open(Path(manifest_dir) / "validation.json", encoding="utf-8") as fin:
        clips = json.load(fin)
    _, entry = min(clips.items(), key=_clip_rank)
    return Path(entry["wav"].replace("{data_root}", str(data_dir)))


def run_detect(layout, clip, device):
    """Detects the events of ``clip`` with the exported model.

    Writes the events TSV (``layout["events"]``) and the clip's PNG
    (under ``layout["plots"]``), as ``speechbrain-atst detect`` does.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    clip : pathlib.Path
        The audio file (see :func:`detection_clip`).
    device : str
        The device.

    Returns
    -------
    pandas.DataFrame
        The events.

    Raises
    ------
    QuickstartError
        If the clip cannot be processed.
    """
    from speechbrain_atst.inference import (
        SEDInterface,
        detect_files,
        write_events,
    )

    same = ["detect", str(clip), "--model", str(layout["model"])]
    same += ["--out", str(layout["events"]), "--plot", str(layout["plots"])]
    print(f"The same as: speechbrain-atst {shlex.join(same)}", flush=True)
    sed = SEDInterface.from_hparams(
        source=str(layout["model"]), run_opts={"device": device}
    )
    events, failures = detect_files(sed, [clip], plot_dir=layout["plots"])
    if failures:
        problems = "; ".join(f"{path}: {why}" for path, why in failures)
        raise QuickstartError(f"detect failed: {problems}")
    write_events(events, layout["events"])
    print(f"{len(events)} events written to {layout['events']}")
    print(f"Plot: {plot_path(layout, clip)}")
    return events
