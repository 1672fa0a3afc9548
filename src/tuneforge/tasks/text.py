"""Texts: a local Hugging Face encoder fine-tuned in full or with a peft adapter, or a model
trained from scratch for any script (``--model tfidf-linear``: :mod:`tuneforge.models.
text_families`). With no ``--model``, data the packaged encoder does not cover (its tokenizer
coverage, :mod:`tuneforge.data.language`) trains those families instead and keeps the best on
validation; English data fine-tunes the encoder as always."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from ..store import RunDir
from ..types import DatasetSplits, Example, Predictor
from .base import Task


class TextTask(Task):
    name = "text"
    supports_privacy = True
    split_suffix = ".jsonl"
    input_noun = "text"
    pretrained = True  # every text run fine-tunes a pretrained encoder
    supports_slices = True
    supports_folds = True
    label_studio_tag = "Text"

    @cached_property
    def family(self) -> str:  # type: ignore[override]
        """The from-scratch family this run trains ("auto": the choice between them; "": the
        encoder). Known once the data is read (:meth:`load_data`)."""
        from ..models.text_families import FAMILIES

        name = self.cfg.model.name
        return name if name in FAMILIES else ""

    @cached_property
    def model_dir(self):
        from ..models import resolve_model_dir

        return resolve_model_dir(self.cfg.model.name)

    @property
    def model_ref(self) -> str:  # type: ignore[override]
        return self.family or str(self.model_dir)

    @cached_property
    def tokenizer(self) -> Any:
        from ..models import load_tokenizer

        return load_tokenizer(self.model_dir)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        from ..models.tokens import count_tokens

        return count_tokens(self.tokenizer, texts)

    def load_data(self) -> DatasetSplits:
        from ..data import load_dataset

        self._check_family()
        counter = None if self.family else self.count_tokens
        data = load_dataset(
            self.cfg.data, count_tokens=counter, max_length=self.cfg.model.max_length
        )
        self.adopt(data)
        return data

    def adopt(self, data: DatasetSplits) -> None:
        """With no ``--model`` (``default``), data the packaged encoder does not cover trains
        the from-scratch families instead (``family`` becomes ``auto``), except under
        ``--privacy dp``, which only the encoder trains with."""
        from ..data.language import coverage_warning, script_shares, tokenizer_coverage
        from ..models.load import DEFAULT_NAMES
        from ..train.privacy import is_private

        self._uncovered = None
        if self.family and self.family != "auto":
            return
        texts = [e.text for e in data.train]
        coverage = tokenizer_coverage(self.tokenizer, texts)
        self._uncovered = coverage_warning(script_shares(texts), coverage, self.cfg.model.name)
        private = is_private(self.cfg.privacy)  # DP-SGD trains the encoder: no choice then
        if self._uncovered and self.cfg.model.name == DEFAULT_NAMES[0] and not private:
            self.family = "auto"

    def _check_family(self) -> None:
        from ..errors import ConfigError
        from ..train.privacy import is_private

        if self.family and is_private(self.cfg.privacy):
            raise ConfigError(
                f"--privacy dp trains encoders with DP-SGD; {self.family} is not trained that way.",
                hint="Leave out --privacy, or give --model a Hugging Face encoder directory.",
            )

    def warnings(self, data: DatasetSplits) -> list[str]:
        from ..models.text_families import AUTO_CANDIDATES

        if self.family and self.family != "auto":
            return []
        found = []
        uncovered = getattr(self, "_uncovered", None)
        if uncovered:
            found.append(f"WARNING: {uncovered}")
        if self.family == "auto":
            found.append(
                "no --model given: training models that read any script instead "
                f"({', '.join(AUTO_CANDIDATES)}) and keeping the best on validation; "
                "--model all-MiniLM-L6-v2 fine-tunes the packaged encoder anyway."
            )
            return found
        texts = [e.text for e in data.train]
        limit = self.cfg.model.max_length
        long_texts = sum(n > limit for n in self.count_tokens(texts))
        if long_texts:
            found.append(
                f"warning: {long_texts} training texts are longer than model.max_length={limit} "
                "tokens and will be truncated."
            )
        return found

    def build_model(self, data: DatasetSplits) -> Any:
        from ..methods import apply_method
        from ..models import load_model
        from ..models.text_families import FAMILIES, AutoChoice
        from ..train import planned_updates

        if self.family == "auto":
            return AutoChoice(data.labels, reason=getattr(self, "_uncovered", "") or "")
        if self.family:
            return FAMILIES[self.family].build(data.labels)

        cm = load_model(self.cfg.model, data.labels)
        return apply_method(cm, self.cfg.method, planned_updates(len(data.train), self.cfg.train))

    def fit(self, cm: Any, data: DatasetSplits, cfg: Any, log: Any = print, **options: Any):
        """The torch loop for an encoder; a from-scratch family's own training; or, for
        ``auto``, every candidate and the choice between them."""
        from ..models.text_families import AutoChoice, choose, family_of_model

        if isinstance(cm, AutoChoice):
            self._choice = cm
            return choose(cm, data, log)
        family = family_of_model(cm)
        if family is not None:
            return family.fit(cm, data)
        return super().fit(cm, data, cfg, log, **options)

    def outcome_facts(self) -> dict:
        choice = getattr(self, "_choice", None)
        if choice is None or choice.chosen is None:
            return {}
        return {"model_dir": choice.record["chosen"], "model_choice": choice.record}

    def save_model(self, cm: Any, rd: RunDir) -> None:
        from ..models.text_families import AutoChoice, family_of_model

        if isinstance(cm, AutoChoice):
            cm = cm.chosen
        family = family_of_model(cm)
        if family is None:
            return super().save_model(cm, rd)
        family.function("save")(cm, rd.model_dir)

    def predictor(self, rd: RunDir) -> Predictor:
        from ..models.text_families import family_of_dir
        from ..predict import TorchPredictor, load_predictor

        if family_of_dir(rd.model_dir) is not None:
            return load_predictor(rd.model_dir)
        return TorchPredictor.from_dir(rd.model_dir)

    def supports_variant(self, variant: Any) -> bool:
        """A from-scratch family has the variants its row lists (ONNX fp32); an encoder all."""
        from ..models.text_families import FAMILIES

        family = FAMILIES.get(self.family)
        return family is None or variant.name in family.variants

    def check_variants(self, names: Sequence[str], run_id: str) -> None:
        from ..compress.variants import VARIANTS
        from ..errors import ModelError
        from ..models.text_families import FAMILIES

        family = FAMILIES.get(self.family)
        if family is None:
            return super().check_variants(names, run_id)
        missing = [n for n in names if n in VARIANTS and n not in family.variants]
        if missing:
            raise ModelError(
                f"Run '{run_id}' trained a {family.name} model: {', '.join(missing)} exist for "
                "fine-tuned encoders only.",
                hint=f"For {family.name} models use {', '.join(family.variants)}.",
            )

    def baseline(self, train: list[Example], test: list[Example]) -> dict:
        from ..evaluate.baseline import tfidf_baseline

        return tfidf_baseline(train, test)

    def profile(self, predictor: Any, examples: list[Example], probs: np.ndarray) -> Any:
        """How the model's predictions look on held-out data: the baseline monitoring compares
        live traffic with (labels, confidences, lengths in characters, unknown-token rate)."""
        from ..monitor.drift import Profile

        texts = [e.text for e in examples]
        if getattr(predictor, "cm", None) is None:  # a from-scratch family: unseen characters
            return Profile.from_predictions(
                predictor.labels,
                [predictor.labels[i] for i in probs.argmax(1)],
                probs.max(1).tolist(),
                [len(t) for t in texts],
                unknown_token_rate=predictor.unknown_rate(texts),
            )
        tokenizer = predictor.cm.tokenizer
        ids = tokenizer(texts, truncation=True, max_length=predictor.cm.max_length)["input_ids"]
        total = sum(len(x) for x in ids) or 1
        unk = (
            sum(x.count(tokenizer.unk_token_id) for x in ids)
            if tokenizer.unk_token_id is not None
            else 0
        )
        return Profile.from_predictions(
            predictor.labels,
            [predictor.labels[i] for i in probs.argmax(1)],
            probs.max(1).tolist(),
            [len(t) for t in texts],
            unknown_token_rate=unk / total,
        )

    def save_split(self, path: Any, examples: list[Example]) -> None:
        """One JSON line per example: later stages (parity, calibration, compression) measure
        on what this run was trained and tested on, even if the source files change. The slice
        columns read beside a text (``--slice``) are kept under ``meta``, so the run's own
        slices can be measured again; a line without them reads as before."""

        def line(e: Example) -> str:
            record: dict = {"text": e.text, "label": e.label, "row": e.row}
            if e.meta:
                record["meta"] = e.meta
            return json.dumps(record, ensure_ascii=False) + "\n"

        path.write_text("".join(line(e) for e in examples), encoding="utf-8")

    def load_split(self, path: Any) -> list[Example]:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line]
        return [
            Example(r["text"], r["label"], r.get("row", i + 1), dict(r.get("meta") or {}))
            for i, r in enumerate(rows)
        ]

    def queue_items(self, source: str, options: dict) -> tuple[list, list[int]]:
        """A table's texts; with ``options["redact"]`` personal data replaced by placeholders
        before anything is stored (the fingerprint is the redacted text's)."""
        from ..data.inputs import read_texts
        from ..data.pii import redact
        from ..label.queue import NewItem

        texts = read_texts(
            source,
            options.get("text_column"),
            options.get("format"),
            delimiter=options.get("delimiter"),
        )
        items, empty = [], []
        for row, text in enumerate(texts, start=1):
            if text.strip():
                text = redact(text) if options.get("redact") else text
                items.append(NewItem(text, self.item_fingerprint(text), f"{source}:{row}"))
            else:
                empty.append(row)
        return items, empty

    def item_fingerprint(self, content: str) -> str:
        from ..label.queue import text_fingerprint

        return text_fingerprint(content)

    def item_content(self, example: Example) -> str:
        return example.text

    def example(self, content: str, label: str, row: int) -> Example:
        return Example(content, label, row)

    def warmup_input(self, predictor: Predictor) -> str:
        return "warm up"

    def labelled(self, data_file: str, labels: Sequence[str], options: dict) -> list[Example]:
        from ..data.inputs import labelled_examples

        return labelled_examples(
            data_file,
            labels,
            options.get("text_column"),
            options.get("label_column"),
            options.get("format"),
            delimiter=options.get("delimiter"),
            slice_columns=options.get("slice_columns") or (),
        )

    def inputs(self, given: list[str], input_file: str | None, options: dict) -> list[str]:
        from ..data.inputs import read_texts

        if not input_file:
            return list(given)
        texts = read_texts(
            input_file,
            options.get("text_column"),
            options.get("format"),
            delimiter=options.get("delimiter"),
        )
        return [*given, *texts]

    def input_stream(self, input_file: str, options: dict) -> Any:
        from ..data.stream import open_text_stream

        return open_text_stream(
            input_file,
            options.get("text_column"),
            options.get("id_column"),
            options.get("format"),
            delimiter=options.get("delimiter"),
        )

    # -- explanations -----------------------------------------------------------------------
    explain_methods = ("ig", "occlusion")
    explains_mistakes = True

    def explainer(self, predictor: Predictor, method: str) -> Any:
        """Word attributions: integrated gradients on the torch model's embeddings, or
        occlusion through ``predict_proba`` (torch, ONNX fp32 and int8 alike), the words split
        by the predictor's own tokenizer."""
        from ..explain.text import integrated_gradients_text, occlusion_text

        cm = getattr(predictor, "cm", None)
        if method == "ig":
            temperature = float(getattr(predictor, "temperature", 1.0))
            return lambda texts, target, **options: integrated_gradients_text(
                cm, texts, target, temperature=temperature, **options
            )
        tokenizer = cm.tokenizer if cm is not None else getattr(predictor, "tokenizer", None)
        max_length = cm.max_length if cm is not None else getattr(predictor, "max_length", 512)
        return lambda texts, target, **options: occlusion_text(
            predictor, texts, target, tokenizer=tokenizer, max_length=max_length, **options
        )

    def summarize(self, explanations: list, top: int) -> list:
        from ..explain import summarize

        return summarize(explanations, top)
