"""Torch and onnxruntime implementations of the Predictor protocol (:mod:`tuneforge.types`).

Evaluate, predict (and later compress and serve) all go through a Predictor, so every path runs
the same tokenisation, batching and post-processing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .types import Prediction, Predictor


def top_k_predictions(probs: np.ndarray, labels: Sequence[str], top_k: int) -> list[Prediction]:
    """Shared post-processing: label, score and the ``top_k`` alternatives per row."""
    k = max(1, min(top_k, len(labels)))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    out = []
    for row, idx in zip(probs, order):
        ranked = [(labels[i], float(row[i])) for i in idx]
        out.append(Prediction(label=ranked[0][0], score=ranked[0][1], top_k=ranked))
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable: the row maximum is subtracted first)."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def calibrated_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities from logits for every predictor (torch, ONNX fp32 and int8, distilled,
    images, served): ``softmax(logits / temperature)``, float32 rows.

    The one place a run's fitted temperature (calibration.json beside the model) is applied,
    so every runtime of one run gives the same calibrated confidences; a model without one has
    temperature 1 (plain softmax, bit for bit as before calibration existed).
    """
    z = np.asarray(logits, dtype=np.float64)
    if temperature != 1.0:
        z = z / float(temperature)
    return softmax(z).astype(np.float32)


EMBEDDING_OUTPUT = "sentence_embedding"  # a text ONNX export's second output (export.py)


def raw_rows(rows: np.ndarray) -> np.ndarray:
    """A ``post`` for :func:`batched_proba` that keeps a batch's outputs as they are (logits,
    embeddings)."""
    return rows


def batched_proba(
    tokenizer,
    max_length: int,
    texts: Sequence[str],
    n_labels: int,
    batch_size: int,
    run_batch: Callable[[dict[str, np.ndarray]], np.ndarray],
    post: Callable[[np.ndarray], np.ndarray] = softmax,
) -> np.ndarray:
    """Tokenise, sort by length, pad each batch to its longest text, softmax the logits.

    Every runtime plugs its forward pass in as ``run_batch`` (int64 numpy inputs → logits), so
    torch, onnxruntime and the server share one tokenisation and post-processing path.
    ``n_labels`` is the width of a row; ``post`` turns a batch's outputs into rows (an
    embedding passes them through).
    """
    from .models.tokens import encode, sorted_batches

    ids = encode(tokenizer, list(texts), max_length)
    probs = np.zeros((len(ids), n_labels), dtype=np.float32)
    pad_id = tokenizer.pad_token_id or 0
    for batch in sorted_batches([len(x) for x in ids], batch_size):
        width = max(len(ids[i]) for i in batch)
        input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        probs[batch] = post(run_batch({"input_ids": input_ids, "attention_mask": mask}))
    return probs


class TorchPredictor:
    """Runs a Hugging Face sequence classifier with dynamic padding over length-sorted batches.

    fp32 unless the model was loaded in bf16, so the numbers match a plain ``transformers``
    reload of the saved model.
    """

    task = "text"
    embeds = True  # its encoder's pooled representation: `embed`

    def __init__(self, cm, batch_size: int = 64, temperature: float | None = None) -> None:
        self.cm = cm
        self.batch_size = batch_size
        self.temperature, self.calibrated = _temperature(temperature)
        self.cm.model.eval()

    @classmethod
    def from_dir(cls, model_dir: str | Path, batch_size: int = 64) -> TorchPredictor:
        from .models import load_trained

        return cls(
            load_trained(model_dir),
            batch_size=batch_size,
            temperature=artifact_temperature(model_dir),
        )

    @property
    def labels(self) -> tuple[str, ...]:
        return self.cm.labels.names

    @property
    def embedding_dim(self) -> int:
        return int(self.cm.model.config.hidden_size)

    @property
    def source_dir(self) -> Path:
        return Path(self.cm.source_dir)

    def _run_batch(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        model = self.cm.model
        device = next(model.parameters()).device
        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v).to(device) for k, v in inputs.items()}
            return model(**tensors).logits.float().cpu().numpy()

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """The classifier's raw outputs (before the temperature and the softmax)."""
        return batched_proba(
            self.cm.tokenizer,
            self.cm.max_length,
            texts,
            len(self.labels),
            self.batch_size,
            self._run_batch,
            post=raw_rows,
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return calibrated_softmax(self.predict_logits(texts), self.temperature)

    def predict(self, texts: Sequence[str], top_k: int = 1) -> list[Prediction]:
        return top_k_predictions(self.predict_proba(texts), self.labels, top_k)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One vector per text: the mean of the last hidden layer over its tokens (what the
        classifier head sees, so near vectors are texts the model treats alike)."""
        import torch

        model = self.cm.model
        device = next(model.parameters()).device

        def run_batch(inputs: dict[str, np.ndarray]) -> np.ndarray:
            with torch.inference_mode():
                tensors = {k: torch.from_numpy(v).to(device) for k, v in inputs.items()}
                hidden = model(**tensors, output_hidden_states=True).hidden_states[-1].float()
                mask = tensors["attention_mask"].unsqueeze(-1).float()
                return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu().numpy()

        width = self.embedding_dim
        return batched_proba(
            self.cm.tokenizer,
            self.cm.max_length,
            texts,
            width,
            self.batch_size,
            run_batch,
            post=raw_rows,
        )


class OnnxPredictor:
    """Runs an exported ``model.onnx`` with onnxruntime, through the same batching as torch.

    A text export has two outputs, ``logits`` and ``sentence_embedding`` (the encoder's
    mean-pooled last layer, what :meth:`TorchPredictor.embed` gives): each call asks only for
    the one it needs.
    Exports made before the second output existed predict as before and cannot embed."""

    task = "text"

    def __init__(
        self, artifact_dir: str | Path, batch_size: int = 64, threads: int = 0, spin: bool = True
    ) -> None:
        from .models.fast_tokens import load_inference_tokenizer

        self.dir = Path(artifact_dir)
        meta = _read_meta(self.dir)
        self._labels = tuple(meta["labels"])
        self.max_length = int(meta.get("max_length", 128))
        self.batch_size = batch_size
        self.session = onnx_session(self.dir / "model.onnx", threads, spin)
        self.tokenizer = load_inference_tokenizer(self.dir)  # no transformers, so no torch
        self._inputs = {i.name for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.embeds = EMBEDDING_OUTPUT in outputs
        shape = outputs[EMBEDDING_OUTPUT].shape if self.embeds else []
        self.embedding_dim = int(shape[-1]) if shape and isinstance(shape[-1], int) else 0
        self.temperature, self.calibrated = _temperature(artifact_temperature(self.dir))

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    @property
    def source_dir(self) -> Path:
        return self.dir

    def _run(self, output: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: v for k, v in inputs.items() if k in self._inputs}
        return self.session.run([output], feed)[0]

    def _run_batch(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self._run("logits", inputs)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One vector per text, as the trained model's ``embed`` gives it (see the class)."""
        from .errors import ModelError

        if not self.embeds:
            raise ModelError(
                f"{self.dir} was exported without the embedding output.",
                hint="Export it again (tuneforge compress RUN, or tuneforge export RUN).",
            )
        return batched_proba(
            self.tokenizer,
            self.max_length,
            texts,
            self.embedding_dim,
            self.batch_size,
            lambda inputs: self._run(EMBEDDING_OUTPUT, inputs),
            post=raw_rows,
        )

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        return batched_proba(
            self.tokenizer,
            self.max_length,
            texts,
            len(self._labels),
            self.batch_size,
            self._run_batch,
            post=raw_rows,
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return calibrated_softmax(self.predict_logits(texts), self.temperature)

    def predict(self, texts: Sequence[str], top_k: int = 1) -> list[Prediction]:
        return top_k_predictions(self.predict_proba(texts), self.labels, top_k)


class ImagePredictor:
    """Images → class probabilities: the saved featurizer's resize and normalisation, then the
    network in torch or onnxruntime (``run_batch``: N×C×H×W float32 → logits).

    An input is a uint8 array (H×W or H×W×C), an image file path, or an image file's bytes (an
    upload); files are decoded with the size check of
    :func:`tuneforge.data.image_files.decode_image`.
    """

    task = "image"

    def __init__(
        self,
        featurizer,
        labels: Sequence[str],
        run_batch,
        batch_size: int = 64,
        temperature: float | None = None,
    ) -> None:
        self.featurizer = featurizer
        self._labels = tuple(labels)
        self._run_batch = run_batch
        self.batch_size = batch_size
        self.temperature, self.calibrated = _temperature(temperature)

    @classmethod
    def from_dir(cls, model_dir: str | Path, batch_size: int = 64) -> ImagePredictor:
        """The torch predictor of a saved image model: the compact CNN (``cnn_config.json`` +
        safetensors), a fine-tuned Hugging Face image classifier, or its peft adapter."""
        from .models.hf_image import load_trained_image

        cm = load_trained_image(model_dir)
        predictor = cls.from_model(cm, batch_size=batch_size)
        predictor.cm = cm
        predictor.temperature, predictor.calibrated = _temperature(artifact_temperature(model_dir))
        return predictor

    @classmethod
    def from_model(cls, cm, batch_size: int = 64) -> ImagePredictor:
        """Wrap an in-memory ImageClassifierModel (fp32, eval mode)."""
        import torch

        model = cm.model
        model.eval()

        def run_batch(pixels: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(pixel_values=torch.from_numpy(pixels)).logits.float().numpy()

        return cls(cm.featurizer, cm.labels.names, run_batch, batch_size)

    @classmethod
    def from_onnx(
        cls, artifact_dir: str | Path, batch_size: int = 64, threads: int = 0, spin: bool = True
    ) -> ImagePredictor:
        """The onnxruntime predictor of an exported image model (``model.onnx`` taking
        ``pixel_values``), with the featurizer recorded in its ``tuneforge.json``."""
        from .data.image_features import ImageFeaturizer

        directory = Path(artifact_dir)
        meta = _read_meta(directory)
        session = onnx_session(directory / "model.onnx", threads, spin)
        name = session.get_inputs()[0].name

        def run_batch(pixels: np.ndarray) -> np.ndarray:
            return session.run(None, {name: pixels})[0]

        return cls(
            ImageFeaturizer.from_meta(meta),
            meta["labels"],
            run_batch,
            batch_size,
            temperature=artifact_temperature(directory),
        )

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def pixels(self, images: Sequence) -> list[np.ndarray]:
        """Decoded uint8 arrays for every input (paths and bytes are decoded and size-checked)."""
        from .data.image_files import decode_image
        from .errors import DataError

        out = []
        for i, image in enumerate(images):
            if isinstance(image, (str, Path, bytes, bytearray)):
                image = decode_image(image)
            elif not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
                raise DataError(
                    f"Input {i}: expected an image (uint8 array, file path or file bytes), got "
                    f"{type(image).__name__}."
                )
            if image.dtype != np.uint8:
                raise DataError(f"Input {i}: pixel arrays must be uint8, got {image.dtype}.")
            out.append(image)
        return out

    def predict_logits(self, images: Sequence) -> np.ndarray:
        """The network's raw outputs (before the temperature and the softmax)."""
        arrays = self.pixels(images)
        logits = np.zeros((len(arrays), len(self._labels)), dtype=np.float32)
        for start in range(0, len(arrays), self.batch_size):
            chunk = arrays[start : start + self.batch_size]
            pixels = self.featurizer.tensor(chunk).numpy().astype(np.float32)
            logits[start : start + len(chunk)] = self._run_batch(pixels)
        return logits

    def predict_proba(self, images: Sequence) -> np.ndarray:
        return calibrated_softmax(self.predict_logits(images), self.temperature)

    def predict(self, images: Sequence, top_k: int = 1) -> list[Prediction]:
        return top_k_predictions(self.predict_proba(images), self.labels, top_k)


def onnx_session(path: Path, threads: int = 0, spin: bool = True):
    """An onnxruntime CPU session, or a ModelError naming the file.

    onnxruntime's worker threads busy-wait for the next call by default: fastest for batch
    after batch, but in a server they burn the cores its event loop and clients need between
    calls. ``spin=False`` makes them sleep instead (what a server on few cores wants).
    """
    import onnxruntime as ort

    from .errors import ModelError

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(
            f"Could not load the ONNX model {path}: {exc}",
            hint="The file may be corrupt or truncated; export it again.",
        ) from exc


def artifact_task(directory: str | Path) -> str:
    """The task of a saved model directory, as its tuneforge.json records it (``text`` for
    directories without one: plain Hugging Face text classifiers)."""
    import json

    meta = Path(directory) / "tuneforge.json"
    try:
        return str(json.loads(meta.read_text(encoding="utf-8")).get("task") or "text")
    except (OSError, ValueError):
        return "text"


def artifact_labels(directory: str | Path) -> tuple[str, ...]:
    """The labels a saved model predicts, without loading it: its tuneforge.json, else the
    ``id2label`` of a plain Hugging Face config.json (empty when neither says)."""
    import json

    for name, read in (
        ("tuneforge.json", lambda d: d.get("labels")),
        (
            "config.json",
            lambda d: [
                v for _, v in sorted((d.get("id2label") or {}).items(), key=lambda kv: int(kv[0]))
            ],
        ),
    ):
        try:
            found = read(json.loads((Path(directory) / name).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if found:
            return tuple(str(x) for x in found)
    return ()


def artifact_calibration(directory: str | Path) -> dict | None:
    """A saved model's calibration record (calibration.json beside it: the fitted temperature
    and the figures before and after), or None when it has none (a run trained before
    calibration existed, a plain Hugging Face directory). A file that cannot be read is a
    ModelError: silently dropping it would serve uncalibrated confidences."""
    import json

    from .errors import ModelError
    from .store.rundir import artifact_calibration_path

    path = artifact_calibration_path(directory)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        temperature = float(record["temperature"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"{path} is not a valid calibration record ({exc}).",
            hint="Fit it again with 'tuneforge calibrate RUN', or delete the file to use "
            "plain softmax (temperature 1).",
        ) from None
    if not (temperature > 0 and np.isfinite(temperature)):
        raise ModelError(
            f"{path}: temperature {temperature} is not a positive number.",
            hint="Fit it again with 'tuneforge calibrate RUN'.",
        )
    return record


def artifact_temperature(directory: str | Path) -> float | None:
    """The temperature a saved model's predictors apply; None when it has no calibration."""
    record = artifact_calibration(directory)
    return None if record is None else float(record["temperature"])


def write_artifact_calibration(directory: str | Path, record: dict) -> Path:
    """Write ``record`` (see :func:`tuneforge.evaluate.calibration.fit_record`) as the
    calibration.json of a saved model directory, atomically; returns its path."""
    import json

    from .store.rundir import artifact_calibration_path, atomic_write_text

    path = artifact_calibration_path(directory)
    atomic_write_text(path, json.dumps(record, indent=1))
    return path


def _temperature(found: float | None) -> tuple[float, bool]:
    """(temperature to apply, whether one was fitted): 1 without a calibration record."""
    return (1.0, False) if found is None else (float(found), True)


def _read_meta(directory: Path) -> dict:
    import json

    from .errors import ModelError

    meta = directory / "tuneforge.json"
    if not meta.is_file():
        raise ModelError(f"{directory} has no tuneforge.json: it is not a tuneforge artifact.")
    return json.loads(meta.read_text(encoding="utf-8"))


def load_predictor(
    artifact: str | Path, batch_size: int = 64, *, spin: bool = True, threads: int = 0
) -> Predictor:
    """A Predictor for an artifact directory: ONNX if it holds model.onnx, else torch (a plain
    model directory or a run's peft adapter); text or image as its tuneforge.json says.
    ``spin=False``: ONNX worker threads sleep between calls (see :func:`onnx_session`);
    ``threads``: an ONNX session's threads (0: one per core; a worker of many wants 1)."""
    from .errors import ModelError
    from .models.text_families import family_of_dir

    path = Path(artifact)
    family = family_of_dir(path)  # a text model trained from scratch (tfidf-linear, char-cnn)
    if family is not None:
        return family.function("open")(path, spin)
    image = artifact_task(path) == "image"
    if (path / "model.onnx").is_file():
        if image:
            return ImagePredictor.from_onnx(path, batch_size, threads, spin)
        return OnnxPredictor(path, batch_size=batch_size, threads=threads, spin=spin)
    if image:
        return ImagePredictor.from_dir(path, batch_size=batch_size)
    if (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
        return TorchPredictor.from_dir(path, batch_size=batch_size)
    if artifact_task(path) == "recommend":
        raise ModelError(
            f"{path} is a recommender (a train --task recommend run): it ranks items for users, "
            "it does not label texts.",
            hint="Ask it with tuneforge recommend RUN --user ID | --history ITEM,ITEM, or serve "
            "it (POST /v1/recommend).",
        )
    raise ModelError(
        f"{path} is neither an ONNX, a Hugging Face model nor a peft adapter directory."
    )
