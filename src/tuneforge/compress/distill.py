"""A smaller model by distillation: a student with fewer layers, initialised from the teacher's
layers and trained on the teacher's softened outputs as well as the labels.

Chosen over structured pruning because the student is a plain, smaller Hugging Face model that
every runtime (torch, ONNX, int8) handles unchanged, and it keeps the tokenizer and head.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np

from ..config import TrainConfig
from ..errors import ModelError
from ..models import ClassifierModel, load_trained, save_model
from ..predict import TorchPredictor
from ..store.rundir import artifact_ood_path
from ..types import DatasetSplits, Example
from .export import copy_tokenizer_and_meta

_LAYER = re.compile(r"\.layer\.(\d+)\.")


def make_student(teacher: ClassifierModel, num_layers: int) -> ClassifierModel:
    """A copy of the teacher keeping ``num_layers`` evenly spaced encoder layers."""
    import transformers

    config = copy.deepcopy(teacher.model.config)
    total = getattr(config, "num_hidden_layers", None)
    if total is None or not 1 <= num_layers < total:
        raise ModelError(f"Cannot distil a {total}-layer model into {num_layers} layers.")
    keep = [int(i) for i in np.linspace(0, total - 1, num_layers).round()]
    config.num_hidden_layers = num_layers
    student = transformers.AutoModelForSequenceClassification.from_config(
        config, attn_implementation="eager"
    )
    state = {}
    for key, value in teacher.model.state_dict().items():
        match = _LAYER.search(key)
        if match is None:
            state[key] = value
        elif int(match.group(1)) in keep:
            new_index = keep.index(int(match.group(1)))
            state[_LAYER.sub(f".layer.{new_index}.", key, count=1)] = value
    missing, unexpected = student.load_state_dict(state, strict=False)
    if [k for k in missing if "position_ids" not in k] or unexpected:
        raise ModelError(f"Student initialisation did not match the teacher: {missing[:3]}")
    return ClassifierModel(
        student, teacher.tokenizer, teacher.labels, teacher.source_dir, teacher.max_length
    )


def distill(
    teacher_dir: Path,
    train: list[Example],
    val: list[Example],
    out_dir: Path,
    num_layers: int | None = None,
    cfg: TrainConfig | None = None,
) -> Path:
    """Train a ``num_layers`` student (default: half the teacher) and save it to ``out_dir``."""
    from ..train import fit

    teacher = load_trained(teacher_dir)
    total = teacher.model.config.num_hidden_layers
    layers = num_layers or max(1, total // 2)
    probs = TorchPredictor(teacher).predict_proba([e.text for e in train])
    teacher_logits = np.log(np.clip(probs, 1e-9, 1.0)).astype(np.float32)
    student = make_student(teacher, layers)
    data = DatasetSplits(train, val, [], teacher.labels, fingerprint="distillation")
    # The student is already a shallow copy: all of its blocks train (as measured).
    fit(
        student,
        data,
        cfg or TrainConfig(freeze_layers=0),
        teacher_logits=teacher_logits,
        progress=False,
    )
    save_model(student, out_dir)
    copy_tokenizer_and_meta(
        teacher_dir, out_dir, format="hf", variant=f"distilled-L{layers}", teacher=str(teacher_dir)
    )
    calibrate_student(student, val, out_dir)
    # The teacher's out-of-scope scores describe the teacher's features: not the student's.
    artifact_ood_path(out_dir).unlink(missing_ok=True)
    return out_dir


def calibrate_student(student: ClassifierModel, val: list[Example], out_dir: Path) -> None:
    """A student has logits of its own: its temperature is fitted on the validation split as
    the teacher's was (without validation examples it keeps the teacher's record, the nearest
    estimate: it was trained to match the teacher's outputs)."""
    if not val:
        return
    from ..evaluate.calibration import fit_predictor_temperature
    from ..predict import write_artifact_calibration

    write_artifact_calibration(out_dir, fit_predictor_temperature(TorchPredictor(student), val))
