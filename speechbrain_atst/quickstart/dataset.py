"""The data steps: synthesize a mini-DESED and prepare its manifests.

``synth`` writes a mini-DESED in the DESED folder layout
(:func:`~speechbrain_atst.data.synth.synthesize_mini_desed`) with a
progress bar of the clips written; ``prepare`` writes its manifests and
ground-truth TSVs (:func:`~speechbrain_atst.data.desed.prepare_desed`,
which reuses manifests that are up to date).

Authors
 * speechbrain-atst team 2026
"""

import json
import sys
import threading
from pathlib import Path

#: Seconds between two counts of the clips written (progress bar).
POLL_SECONDS = 0.5
#: Manifests whose sizes the prepare step prints.
TRAIN_MANIFESTS = ("synth_train", "strong_train", "weak_train", "unlabeled")


def expected_clips(scale):
    """Number of clips the synthesizer writes at ``scale``.

    Arguments
    ---------
    scale : str or float
        Dataset size.

    Returns
    -------
    int
        Clips of every subset together.

    Example
    -------
    >>> expected_clips("small")
    108
    """
    from speechbrain_atst.data.synth import resolve_sizes

    return sum(resolve_sizes(scale).values())


def count_wavs(data_dir):
    """Number of wav files under the audio folders of a dataset.

    Arguments
    ---------
    data_dir : str or os.PathLike
        The dataset folder.

    Returns
    -------
    int
        Wav files written so far.

    Example
    -------
    >>> count_wavs(getfixture("tmp_path"))
    0
    """
    from speechbrain_atst.data.synth import SUBSETS

    total = 0
    for spec in SUBSETS.values():
        folder = Path(data_dir) / spec["audio"]
        if folder.is_dir():
            total += sum(1 for _ in folder.glob("*.wav"))
    return total


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

    total = expected_clips(scale)
    stop = threading.Event()
    bar = tqdm(total=total, unit="clip", desc="synth", file=sys.stdout)

    def poll():
        while not stop.wait(POLL_SECONDS):
            bar.update(max(count_wavs(data_dir) - bar.n, 0))

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
    for name in TRAIN_MANIFESTS:
        if name in out:
            with open(out[name], encoding="utf-8") as fin:
                print(f"{name:13s} {len(json.load(fin)):5d} clips")
    return out
