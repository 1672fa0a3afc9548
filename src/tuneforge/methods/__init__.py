"""Fine-tuning methods behind one interface: which weights train, and how they are saved.

``full`` trains every weight; ``lora``, ``adalora``, ``ia3`` and ``prefix`` wrap the model in a
peft adapter and train only the adapter and the classification head (``modules_to_save``), so a
reloaded adapter never comes back with a random head.
"""

from .table import (
    METHODS,
    Method,
    apply_method,
    check_fits_images,
    default_lr,
    get_method,
    save_trained,
)

__all__ = [
    "METHODS",
    "Method",
    "apply_method",
    "check_fits_images",
    "default_lr",
    "get_method",
    "save_trained",
]
