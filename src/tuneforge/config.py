"""One frozen dataclass per stage, stored as YAML, overridden by ``key=value``.

Unknown keys and values of the wrong type are errors that name the key: a typo in a config
must never be silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


@dataclass(frozen=True)
class DataConfig:
    """Where the examples come from, what they are (texts or images) and how they are split.

    ``task: auto`` reads images from a folder, an IDX file, a CSV of pixel values (given
    ``image_shape``) or a table with an image-path column and no text column; texts otherwise.
    """

    train_file: str = ""
    val_file: str | None = None
    test_file: str | None = None
    task: str = "auto"  # auto | text | image | recommend
    text_column: str | None = None
    label_column: str | None = None
    image_column: str | None = None  # tables of image paths; None = detected
    image_shape: str | None = None  # HxW or HxWxC: marks a CSV of pixel values
    labels_file: str | None = None  # IDX labels; None = named like the images file
    format: str | None = None  # csv | tsv | jsonl | parquet; None = by extension
    delimiter: str | None = None  # CSV/TSV field separator (";", "tab"); None = detected/tab
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42
    slice_columns: str | None = None  # comma-separated: the test split is evaluated per value
    # A label of the data that marks out-of-scope examples: trained as a class, and answered
    # as an abstention (the unknown label) by predict/evaluate/serve --abstain.
    oos_label: str | None = None
    # Recommendation (task recommend): the items file (id + text columns) beside the
    # interactions file, and the interactions' columns (None = detected).
    items_file: str | None = None
    user_column: str | None = None
    item_column: str | None = None
    time_column: str | None = None
    cold_fraction: float = 0.1  # share of items held out of training for the cold-start split

    @property
    def slices(self) -> tuple[str, ...]:
        """``slice_columns`` as names (``--slice``), in the order given, without repeats."""
        names = (c.strip() for c in (self.slice_columns or "").split(","))
        return tuple(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class ModelConfig:
    """Which local pretrained model to start from and how to shape it.

    Dropout defaults to 0: on this CPU class the dropout masks cost ~30% of a bf16 step and, on
    BANKING77, hidden dropout 0 matched or beat 0.1 in test accuracy (docs/benchmarks.md).
    Eager attention because SDPA's backward is the slow path on CPU.
    """

    name: str = "default"
    max_length: int = 128
    hidden_dropout: float = 0.0
    attention_dropout: float = 0.0
    attn_implementation: str = "eager"


@dataclass(frozen=True)
class TrainConfig:
    """The loop: AdamW with linear warm-up and decay, early stopping on validation macro-F1.

    ``None`` means the task's default (:data:`TRAIN_DEFAULTS`): a run writes the values it
    resolved into its config.yaml, so the file states what it trained with.
    """

    epochs: int | None = None  # None: auto, 8 for small text data / 20 for small image data
    batch_size: int | None = None  # None: text 32, image 64
    lr: float | None = None  # None: the method's default (full 2e-4, LoRA 1e-3, ...); CNN 3e-3
    weight_decay: float | None = None  # None: text 0.01, image 1e-4
    warmup_ratio: float | None = None  # None: text 0.06, image 0.05
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    precision: str = "auto"  # auto | bf16 | fp32
    class_weights: str = "none"  # none | balanced
    label_smoothing: float = 0.0
    distill_alpha: float = 0.5  # weight of the teacher's soft targets when distilling
    distill_temperature: float = 2.0
    early_stopping_patience: int | None = None  # evaluations without gain; 0 = off; None:
    # text 4, image 0 (the CNN's fixed schedule ends best; the best epoch is still kept)
    eval_every_steps: int | None = None  # None: 4x per epoch when an epoch has >1000 updates
    bucket_size: int = 50  # batches per length-sorted bucket
    freeze_embeddings: bool = True  # +60% ex/s on BANKING77 at equal accuracy
    freeze_layers: int | None = None  # full fine-tuning keeps the embeddings and this many
    # bottom blocks fixed. None: a third of a pretrained text encoder's blocks (2 of MiniLM-L6's
    # 6: ~1.35x examples/s on BANKING77, no accuracy lost); 0 for images. 0 trains every block.
    seed: int = 42


@dataclass(frozen=True)
class MethodConfig:
    """Which weights train: all of them (``full``) or a small peft adapter beside frozen ones.

    The classification head always trains and is saved with the adapter. ``r``/``alpha`` are
    the LoRA and AdaLoRA rank and scale (AdaLoRA starts at ``r`` and prunes towards ``r // 2``),
    ``virtual_tokens`` the prefix length for prefix tuning. Adapter dropout defaults to 0 for
    the same reason as the model's: dropout masks are a large share of a CPU training step.
    """

    name: str = "full"  # full | lora | adalora | ia3 | prefix
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: str | None = None  # comma-separated; None: the method's default
    virtual_tokens: int = 16


@dataclass(frozen=True)
class PrivacyConfig:
    """Differentially private training (DP-SGD through Opacus), off unless ``mode: dp``.

    ``epsilon`` is the budget the whole run may spend; ``delta`` ``None`` means 1/(10·n) for
    n training examples (a δ must stay below 1/n, else releasing one whole example would fit
    the guarantee). ``max_grad_norm`` is the per-example clipping bound C that the noise is
    scaled to. ``accountant``: ``rdp`` (Rényi DP, Opacus' classic) or ``prv`` (privacy random
    variables: a tighter ε for the same noise). ``max_noise`` is the largest noise multiplier σ
    per expected batch example (σ / expected batch size) a run accepts: beyond it each step's
    noise is larger than the gradient it hides, and the run would learn noise.
    """

    mode: str = "none"  # none | dp
    epsilon: float | None = None
    delta: float | None = None  # None: 1 / (10 * n_train)
    max_grad_norm: float = 1.0
    accountant: str = "rdp"  # rdp | prv
    max_noise: float = 0.5


# Retraining: a candidate is promoted past production only when it gains at least this much
# accuracy on the fixed evaluation set; this share of the queue's new labels is held back.
RETRAIN_MIN_GAIN = 0.005
RETRAIN_HOLDOUT = 0.3

PRIVACY_MODES = ("none", "dp")
ACCOUNTANTS = ("rdp", "prv")


# What ``None`` resolves to per task. Text: measured on BANKING77 (docs/benchmarks.md); a
# pretrained Hugging Face image model takes these too (train.defaults.schedule_of). Image: the
# compact CNN as bench/images.py trains it (98.7% on MNIST-5k): a larger step and batch, light
# weight decay, fp32, and a fixed schedule without early stopping.
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "text": {
        "batch_size": 32,
        "weight_decay": 0.01,
        "warmup_ratio": 0.06,
        "early_stopping_patience": 4,
    },
    "image": {
        "batch_size": 64,
        "lr": 3e-3,
        "weight_decay": 1e-4,
        "warmup_ratio": 0.05,
        "early_stopping_patience": 0,
    },
}
TASKS = ("auto", "text", "image", "recommend")


@dataclass(frozen=True)
class ImageConfig:
    """How images become inputs of the compact CNN (image runs only), and the CNN's size.

    ``size`` is HxW (default: the training images' most common size); ``augment`` turns the
    random rotation/shift/scale of training batches on (never flips: a mirrored digit or letter
    is another class). ``widths`` are the filters per stage, comma-separated; each stage halves
    the image, so 28×28 digits take two stages and 8×8 images at most three. A Hugging Face
    image model (``model.name: DIR``) takes its size and normalisation from its processor
    config; of these keys only ``augment`` applies to it.
    """

    size: str | None = None
    augment: bool = True
    widths: str = "32,64"
    hidden: int = 128
    dropout: float = 0.25


@dataclass(frozen=True)
class ReportConfig:
    """What a run's report (and its dashboard page) holds beyond its figures.

    ``explain_wrong``: at the end of a text run, the test texts the model got wrong with the
    highest confidence are explained (word attributions by the model's default method) so the
    report shows why they were misread; how many, 0 for none. Ten integrated-gradients
    explanations take about 1.5 s with MiniLM on 2 cores.
    ``redact_examples``: example texts (the most confused pairs, the most confidently wrong
    texts) are shown with emails, phones, cards, IBANs, IPs and URLs replaced by ``[EMAIL]``,
    ``[PHONE]``, …; ``report.redact_examples=false`` shows them as written.
    """

    explain_wrong: int = 10
    redact_examples: bool = True


@dataclass(frozen=True)
class RecommendConfig:
    """The two-tower recommender's shape (task recommend): vector width, the towers' hidden
    width, how a history is pooled (mean | attention), how many recent items make a user, how
    often an item's own embedding is dropped in training (so its text carries it), and the
    softmax temperature."""

    dim: int = 64
    hidden: int = 256
    pooling: str = "mean"
    history: int = 50
    id_dropout: float = 0.5
    temperature: float = 0.05


@dataclass(frozen=True)
class RunConfig:
    """Everything a training run needs; ``config.yaml`` in the run directory is this, resolved."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    name: str | None = None
    runs_dir: str = "runs"


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def dump_config(cfg: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Convert ``value`` (from YAML or a ``key=value`` string) to the annotated type."""
    hint = annotation
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        hint = args[0]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(
        f"Config key '{key}' expects {getattr(hint, '__name__', hint)}, got {value!r}.",
        hint="Fix the value in the YAML file or the key=value override.",
    )


def _build(cls: type, values: dict, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        full = f"{prefix}{key}"
        if key not in names:
            close = difflib.get_close_matches(key, sorted(names), n=1)
            hint = (
                f"Did you mean '{prefix}{close[0]}'?"
                if close
                else (f"Known keys: {', '.join(prefix + n for n in sorted(names))}.")
            )
            raise ConfigError(f"Unknown config key '{full}'.", hint=hint)
        hint_type = hints[key]
        if dataclasses.is_dataclass(hint_type):
            if not isinstance(value, dict):
                raise ConfigError(f"Config key '{full}' must be a mapping, got {value!r}.")
            kwargs[key] = _build(hint_type, value, f"{full}.")
        else:
            kwargs[key] = _coerce(value, hint_type, full)
    return cls(**kwargs)


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"Config key '{dotted}': '{part}' is not a section.")
    node[parts[-1]] = value


def parse_overrides(pairs: list[str]) -> dict:
    """``["train.lr=1e-4", "model.max_length=64"]`` → nested dict of strings."""
    tree: dict = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"Override '{pair}' is not key=value.", hint="Example: train.lr=1e-4")
        key, value = pair.split("=", 1)
        _set_dotted(tree, key.strip(), value.strip())
    return tree


def merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(
    yaml_path: str | Path | None = None,
    overrides: list[str] | None = None,
    base: dict | None = None,
    flags: dict | None = None,
) -> RunConfig:
    """Defaults ← ``base`` ← the YAML file ← ``flags`` ← ``key=value`` overrides.

    ``base`` holds values that only stand in for defaults (the runs folder from the
    environment); ``flags`` are the command-line options the user typed, so they beat a config
    file that spells out every key (as ``configs/default.yaml`` does), and ``key=value``
    overrides beat both. This is the order litgpt, LLaMA-Factory and Ludwig users expect.
    """
    tree: dict = base or {}
    if yaml_path is not None:
        tree = merge(tree, _read_yaml(Path(yaml_path)))
    if flags:
        tree = merge(tree, flags)
    if overrides:
        tree = merge(tree, parse_overrides(overrides))
    return _build(RunConfig, tree, "")


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"Config file '{path}' does not exist.")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file '{path}' is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"Config file '{path}' must hold a mapping at the top level.")
    return loaded
