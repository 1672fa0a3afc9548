"""The web dashboard (``tuneforge ui``): server-rendered pages over the same store, run
directories and recipes as the CLI, with a little JavaScript and one vendored chart library.

Nothing here re-implements a recipe: pages read through ``recipes/`` and ``store/``, and the
actions of later pages (promote, label, retrain) call the recipes the commands call.
"""

from .app import create_app
from .settings import UISettings

__all__ = ["UISettings", "create_app"]
