"""What every task offers; :class:`~tuneforge.tasks.text.TextTask` and
:class:`~tuneforge.tasks.image.ImageTask` fill it in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..config import RunConfig
from ..errors import ConfigError, DataError, ModelError
from ..store import RunDir
from ..types import DatasetSplits, Predictor


class Task:
    """One kind of run. Constructed with a RunConfig to train, without one to use a finished
    run (read its data and inputs, keep and reload its splits, check variants)."""

    name: ClassVar[str] = ""
    split_suffix: ClassVar[str] = ""  # how the run keeps its splits: data/<split><suffix>
    input_noun: ClassVar[str] = ""  # what `predict` takes, for messages and output columns
    supports_slices: ClassVar[bool] = False  # examples carry other columns of their row (meta)
    supports_folds: ClassVar[bool] = False  # a run can train on splits handed to it (folds)
    items_are_files: ClassVar[bool] = False  # a labeling queue holds file paths, not contents
    label_studio_tag: ClassVar[str] = ""  # the Label Studio object tag that shows an item
    supports_privacy: ClassVar[bool] = False  # --privacy dp (DP-SGD) was built and tested for it
    trains_itself: ClassVar[bool] = False  # its run is its own flow (recommend), not fit()

    def __init__(self, cfg: RunConfig | None = None) -> None:
        self._cfg = cfg

    @property
    def cfg(self) -> RunConfig:
        if self._cfg is None:
            raise ConfigError(f"The {self.name} task was opened without a run config.")
        return self._cfg

    @cfg.setter
    def cfg(self, cfg: RunConfig) -> None:
        self._cfg = cfg

    @staticmethod
    def starts_pretrained(cfg: RunConfig) -> bool:
        """Whether a run of this task with ``cfg`` fine-tunes pretrained weights (and so takes
        the pretrained schedule of :mod:`tuneforge.train.defaults`)."""
        return True

    # -- release variants -------------------------------------------------------------------
    def supports_variant(self, variant: Any) -> bool:
        """Whether a release variant (a row of :data:`tuneforge.compress.variants.VARIANTS`)
        exists for this task's models."""
        return True

    def check_variants(self, names: Sequence[str], run_id: str) -> None:
        """Refuse variants that do not exist for this task, naming them and the alternatives."""
        from ..compress.variants import VARIANTS

        missing = [n for n in names if n in VARIANTS and not self.supports_variant(VARIANTS[n])]
        if missing:
            usable = [n for n, v in VARIANTS.items() if self.supports_variant(v)]
            raise ModelError(
                f"Run '{run_id}' is an {self.name} run: {', '.join(missing)} exist for text "
                "(transformer) models only.",
                hint=f"For {self.name} models use {', '.join(usable)}; or leave out --variants "
                f"to build every variant an {self.name} model has.",
            )

    # -- training (need cfg) ----------------------------------------------------------------
    model_ref: str = ""
    family: str = ""  # a model family trained from scratch (text: tfidf-linear); "" otherwise

    def fit(self, cm: Any, data: DatasetSplits, cfg: Any, log: Any = print, **options: Any):
        """Train ``cm`` on ``data``: the torch loop of :func:`tuneforge.train.fit` (``options``:
        its keyword arguments); a task whose models train otherwise overrides it."""
        from ..train import fit

        return fit(cm, data, cfg, **options)

    def outcome_facts(self) -> dict:
        """What status.json records about training beyond the loop's figures (the automatic
        model choice of a text run)."""
        return {}

    def load_data(self) -> DatasetSplits:
        raise NotImplementedError

    def adopt(self, data: DatasetSplits) -> None:
        """Get ready to train on splits cut elsewhere (a cross-validation fold) instead of
        :meth:`load_data`'s: whatever the task derives from its training split."""

    def warnings(self, data: DatasetSplits) -> list[str]:
        return []

    def check_slices(self, columns: Sequence[str]) -> None:
        """Refuse ``--slice`` where this task's examples cannot carry the other columns of
        their row."""
        if columns and not self.supports_slices:
            raise ConfigError(
                f"--slice {' '.join(columns)}: slices work on text runs (tables), not on "
                f"{self.name} runs.",
                hint="Leave out --slice.",
            )

    def build_model(self, data: DatasetSplits) -> Any:
        raise NotImplementedError

    def save_model(self, cm: Any, rd: RunDir) -> None:
        from ..methods import save_trained

        save_trained(cm, rd.model_dir, rd.adapter_dir)

    def predictor(self, rd: RunDir) -> Predictor:
        from ..predict import load_predictor

        return load_predictor(rd.model_dir)

    def baseline(self, train: list, test: list) -> dict:
        raise NotImplementedError

    def profile(self, predictor: Predictor, examples: list, probs: np.ndarray) -> Any:
        raise NotImplementedError

    # -- a run's kept splits ----------------------------------------------------------------
    def save_splits(self, rd: RunDir, data: DatasetSplits) -> None:
        rd.data_dir.mkdir(exist_ok=True)
        for split in ("train", "val", "test"):
            self.save_split(rd.split_path(split, self.split_suffix), getattr(data, split))

    def save_split(self, path: Any, examples: list) -> None:
        raise NotImplementedError

    def load_split(self, path: Any) -> list:
        raise NotImplementedError

    def queue_items(self, source: str, options: dict) -> tuple[list, list[int]]:
        """A file's items for a labeling queue (``NewItem``: content, fingerprint, source) and
        the rows skipped for being empty."""
        raise NotImplementedError

    def item_fingerprint(self, content: str) -> str | None:
        """The fingerprint a queue item with this content has (None: cannot be computed)."""
        raise NotImplementedError

    def item_content(self, example: Any) -> str:
        """What a queue item of ``example`` holds (its text, its image's path), to recognise
        labelled items that are already in a run's data."""
        raise NotImplementedError

    def example(self, content: str, label: str, row: int) -> Any:
        """A labelled example of a labeling-queue item (a text, or an image's path)."""
        raise NotImplementedError

    def warmup_input(self, predictor: Predictor) -> Any:
        """One input of this task's kind, to warm a runtime up before the first user arrives."""
        raise NotImplementedError

    # -- using a finished model -------------------------------------------------------------
    def labelled(self, data_file: str, labels: Sequence[str], options: dict) -> list:
        """Labelled examples of ``data_file`` for evaluation, refusing labels the model lacks;
        ``options["slice_columns"]`` (tasks that support slices) are read into their meta."""
        raise NotImplementedError

    def inputs(self, given: list[str], input_file: str | None, options: dict) -> list[str]:
        """What to predict: ``given`` plus what ``input_file`` holds."""
        raise NotImplementedError

    def input_stream(self, input_file: str, options: dict) -> Any:
        """What ``input_file`` holds as a :class:`tuneforge.data.stream.InputStream`, read
        in chunks: what `predict --output` works through, resumably."""
        raise NotImplementedError

    # -- explanations -----------------------------------------------------------------------
    explain_methods: ClassVar[tuple[str, ...]] = ()  # which explainers this task offers
    explains_mistakes: ClassVar[bool] = False  # a run's report explains its surest mistakes

    def explain(
        self,
        predictor: Predictor,
        inputs: Sequence[Any],
        method: str | None = None,
        target: str | None = None,
        **options: Any,
    ) -> list:
        """Why ``predictor`` gives each input its label (or ``target``): typed explanations of
        :mod:`tuneforge.explain`. ``method``: ``ig`` or ``occlusion`` (default: ``ig`` for a
        torch model, ``occlusion`` for other runtimes); ``options`` go to the explainer
        (``steps``, ``internal_batch_size``; images: ``patch``, ``stride``)."""
        from ..explain import check_method, check_target, default_method

        runtime = str(getattr(predictor, "task", "text"))
        if runtime != self.name:
            raise ConfigError(
                f"This is {_article(runtime)} {runtime} model: it cannot give {self.name} "
                "attributions.",
                hint=f"Give it {runtime} inputs, or explain a {self.name} model.",
            )
        chosen = check_method(method or default_method(predictor), self.explain_methods, predictor)
        index = check_target(target, predictor.labels)
        if len(inputs) == 0:
            raise DataError(f"Nothing to explain: no {self.input_noun}s given.")
        return self.explainer(predictor, chosen)(list(inputs), index, **options)

    def explainer(self, predictor: Predictor, method: str) -> Any:
        """The function ``(inputs, target index or None, **options) -> explanations`` of
        ``method`` for this task's inputs on ``predictor``."""
        raise ConfigError(f"{self.name.capitalize()} models cannot be explained yet.")

    def explanation_files(
        self, predictor: Predictor, inputs: Sequence[Any], explanations: list, out_dir: Any
    ) -> list:
        """Write what a person looks at besides the terminal (image overlays) into
        ``out_dir``; returns the explanations, naming the files they now have. Texts have
        none: their words are coloured where they are shown."""
        return explanations

    def summarize(self, explanations: list, top: int) -> list:
        """The global view over many explanations (per label, what pushes towards it)."""
        raise ConfigError(
            f"A summary aggregates word attributions; {self.name} models have none.",
            hint="Explain single inputs instead (leave out --summary).",
        )


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
