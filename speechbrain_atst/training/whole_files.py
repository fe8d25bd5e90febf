"""Validation and test on whole files of any length (own-data recipe).

DESED's evaluation clips are 10 s, the model's window, so the DESED recipe
scores one window per clip. A user's recordings last from 2 s to minutes:
here each file is scored whole, windowed exactly as
:class:`~speechbrain_atst.inference.SEDInterface` scores it (10 s windows
every ``hop_seconds``, frame scores merged by a cross-fade; shorter files
padded and scored to their real end), so that the held-out metrics are
those a user of the exported model gets. Nothing is cut to 10 s.

* :func:`make_whole_file_dataset`: items ``id``, ``sig`` (the whole file at
  16 kHz, mono) and ``events``;
* :class:`ModelWindows`: a :class:`WindowedDetector` around a model being
  trained;
* :class:`WholeFileRecord`: the scores of student and teacher and the
  teacher's BCE over a pass;
* :class:`WholeFileSEDBrain`: :class:`SEDBrain` validating and testing on
  whole files (its ``valid`` evaluation set).

Authors
 * speechbrain-atst team 2026
"""

import numpy as np
import speechbrain as sb
import torch
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_atst.data.audio import read_audio
from speechbrain_atst.data.custom import VALID_SUBSET
from speechbrain_atst.inference.detector import WindowedDetector
from speechbrain_atst.labels import CLIP_SECONDS, ManyHotEncoder
from speechbrain_atst.training.brain import SEDBrain
from speechbrain_atst.training.losses import summed_bce
from speechbrain_atst.training.records import MODELS, StageRecord

#: The evaluation set of validation and test (``eval_sets`` key, and the
#: subset name in the statistics: ``teacher_bce_valid``).
WHOLE_FILE_SET = VALID_SUBSET


def make_whole_file_dataset(manifest, data_root=""):
    """A dataset of whole audio files with their events.

    Arguments
    ---------
    manifest : str
        A JSON manifest of strong clips (``wav``, ``events``).
    data_root : str
        Replaces ``{data_root}`` in the paths.

    Returns
    -------
    DynamicItemDataset
        Items ``id``, ``sig`` (``[samples]`` at 16 kHz, mono) and
        ``events`` (``[[onset, offset, label], ...]``).

    Example
    -------
    >>> import json, soundfile
    >>> folder = getfixture("tmp_path")
    >>> soundfile.write(folder / "a.wav", np.zeros(24000), 8000)
    >>> entry = {"wav": str(folder / "a.wav"), "events": [[0.5, 1, "Dog"]]}
    >>> _ = (folder / "m.json").write_text(json.dumps({"a": entry}))
    >>> item = make_whole_file_dataset(str(folder / "m.json"))[0]
    >>> item["id"], item["sig"].shape
    ('a', torch.Size([48000]))
    """
    data = sb.dataio.dataio.load_data_json(
        manifest, replacements={"data_root": str(data_root)}
    )
    for clip_id, entry in data.items():
        if "wav" not in entry or "events" not in entry:
            raise ValueError(
                f"{manifest}: entry '{clip_id}' needs 'wav' and 'events'"
            )

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(path):
        return read_audio(path)

    return DynamicItemDataset(
        data,
        dynamic_items=[audio_pipeline],
        output_keys=["id", "sig", "events"],
    )


class ModelWindows(WindowedDetector):
    """Windowed scoring of whole files by models in training.

    The windows of a batch are cut and their front-end features computed
    once for all the models (student and teacher in validation).

    Arguments
    ---------
    model : ATSTSED or sequence of ATSTSED
        The model, or several models of the same classes (their current
        modes are kept).
    cnn_features : torch.nn.Module
        The CNN front-end.
    atst_features : torch.nn.Module
        The transformer front-end.
    classes : sequence of str
        The classes.
    device : str or torch.device
        Where the models are.
    hop_seconds : float
        Hop between 10 s windows (as in the inference template).
    batch_size : int
        Windows per model call.

    Example
    -------
    >>> from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> model = ATSTSED(n_classes=2, embed_dim=16, depth=1, num_heads=2)
    >>> scorer = ModelWindows(
    ...     model.eval(), CNNFrontEnd(), ATSTFrontEnd(), ["a", "b"], "cpu"
    ... )
    >>> [
    ...     s.shape
    ...     for s in scorer.frame_scores_batch(
    ...         torch.rand(1, 16000 * 12), median=False
    ...     )
    ... ]
    [(188, 2)]
    >>> both = ModelWindows(
    ...     [model, model], CNNFrontEnd(), ATSTFrontEnd(), ["a", "b"], "cpu"
    ... )
    >>> [s[0].shape for s in both.scores_per_model(torch.rand(1, 16000))]
    [(16, 2), (16, 2)]
    """

    def __init__(
        self,
        model,
        cnn_features,
        atst_features,
        classes,
        device,
        hop_seconds=8.0,
        batch_size=8,
    ):
        self.models = (
            [model] if isinstance(model, torch.nn.Module) else list(model)
        )
        self.cnn_features = cnn_features
        self.atst_features = atst_features
        self.device = device
        # The scores of several models side by side, under one name per
        # model and class.
        self.model_classes = list(classes)
        if len(self.models) > 1:
            classes = [
                f"{i}/{c}" for i in range(len(self.models)) for c in classes
            ]
        self.configure(
            classes,
            CLIP_SECONDS,
            hop_seconds,
            1,
            0.5,
            batch_size,
        )

    def _run_windows(self, windows):
        """Scores of ``[n, window_samples]`` windows (see the base class),
        the models' side by side."""
        with torch.no_grad():
            batch = torch.as_tensor(windows, dtype=torch.float32)
            batch = batch.to(self.device)
            cnn_feats = self.cnn_features(batch)
            atst_feats = self.atst_features(batch)
            strong = [m(cnn_feats, atst_feats)[0] for m in self.models]
            return torch.cat(strong, dim=-1).float().cpu().numpy()

    def scores_per_model(self, wavs, wav_lens=None):
        """Frame scores of each model (no median filter).

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` waveforms.
        wav_lens : torch.Tensor, optional
            Relative lengths.

        Returns
        -------
        list of list
            Per model, one ``[frames, classes]`` array per waveform.
        """
        scores = self.frame_scores_batch(wavs, wav_lens, median=False)
        n = len(self.model_classes)
        return [
            [s[:, i * n : (i + 1) * n] for s in scores]
            for i in range(len(self.models))
        ]


class WholeFileRecord(StageRecord):
    """Merged frame scores of whole files and the teacher's BCE.

    Example
    -------
    >>> record = WholeFileRecord(ManyHotEncoder(["Dog"]))
    >>> scores = {who: [np.full((16, 1), 0.5, np.float32)] for who in MODELS}
    >>> loss = record.add_files(["a"], [[[0.0, 0.5, "Dog"]]], scores)
    >>> sorted(record.scores["teacher"]), round(float(loss), 4)
    (['a'], 0.6931)
    >>> {k: round(v, 4) for k, v in record.bce_means().items()}
    {'valid': 0.6931}
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.scores = {who: {} for who in MODELS}
        self.bce = [0.0, 0]

    def add_files(self, ids, events, scores):
        """Keeps the scores of a batch of files and adds the teacher's BCE.

        Arguments
        ---------
        ids : list of str
            The files' ids.
        events : list
            Each file's events ``[[onset, offset, label], ...]``.
        scores : dict
            ``{"student": [array (frames, classes)], "teacher": [...]}``.

        Returns
        -------
        torch.Tensor
            The teacher's mean frame BCE over the batch.
        """
        total, count = 0.0, 0
        for i, clip_id in enumerate(ids):
            for who in MODELS:
                self.scores[who][clip_id] = scores[who][i]
            pred = torch.from_numpy(np.asarray(scores["teacher"][i]))
            target = self.encoder.encode_strong(
                [tuple(e) for e in events[i]], n_frames=pred.shape[0]
            )
            total += float(summed_bce(pred.clamp(1e-7, 1 - 1e-7), target))
            count += target.numel()
        self.bce[0] += total
        self.bce[1] += count
        return torch.tensor(total / max(count, 1))

    def bce_means(self):
        """The teacher's mean BCE over the files seen.

        Returns
        -------
        dict
            ``{"valid": mean}`` (empty before any file).
        """
        total, count = self.bce
        return {WHOLE_FILE_SET: total / count} if count else {}


class WholeFileSEDBrain(SEDBrain):
    """:class:`SEDBrain` that validates and tests on whole files.

    Training is that of :class:`SEDBrain` (10 s crops, the four batch
    parts, mean teacher / ICT). Validation and test take a dataset of
    :func:`make_whole_file_dataset` and score each file with
    :class:`ModelWindows` (hyperparameters ``valid_hop_seconds`` and
    ``valid_window_batch``); PSDS and F1 are computed on the ``valid``
    evaluation set (``eval_sets``).
    """

    VALID_SET = WHOLE_FILE_SET
    TEST_SET = WHOLE_FILE_SET

    def on_stage_start(self, stage, epoch=None):
        """Starts the record of the stage (whole files outside training).

        Arguments
        ---------
        stage : sb.Stage
            The stage.
        epoch : int, optional
            The epoch.
        """
        super().on_stage_start(stage, epoch)
        if stage != sb.Stage.TRAIN:
            self.record = WholeFileRecord(ManyHotEncoder(self.classes))

    def compute_forward(self, batch, stage):
        """Windowed scores of whole files (training: see SEDBrain).

        Arguments
        ---------
        batch : PaddedBatch
            Training items, or whole files (``id``, ``sig``, ``events``).
        stage : sb.Stage
            The stage.

        Returns
        -------
        dict
            Training outputs, or ``{who: [array (frames, classes)]}``.
        """
        if stage == sb.Stage.TRAIN:
            return super().compute_forward(batch, stage)
        hp = self.hparams
        scorer = ModelWindows(
            [self.raw_student, self.raw_teacher],
            self.modules.cnn_features,
            self.modules.atst_features,
            self.classes,
            self.device,
            hop_seconds=float(hp.valid_hop_seconds),
            batch_size=int(hp.valid_window_batch),
        )
        scores = scorer.scores_per_model(batch.sig.data, batch.sig.lengths)
        out = dict(zip(("student", "teacher"), scores))
        return out

    def compute_objectives(self, predictions, batch, stage):
        """Training loss, or the record of a batch of whole files.

        Arguments
        ---------
        predictions : dict
            Output of :meth:`compute_forward`.
        batch : PaddedBatch
            The batch.
        stage : sb.Stage
            The stage.

        Returns
        -------
        torch.Tensor
            Scalar loss.
        """
        if stage == sb.Stage.TRAIN:
            return super().compute_objectives(predictions, batch, stage)
        return self.record.add_files(batch.id, batch.events, predictions)
