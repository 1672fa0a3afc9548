"""The file MLflow runs to build a registered tuneforge model ("models from code"): MLflow
copies it into the model and executes it on ``mlflow.pyfunc.load_model``, so no pickled object
travels with the model. Absolute imports: it runs outside the package."""

import mlflow.models

from tuneforge.track.pyfunc import TuneforgeModel

mlflow.models.set_model(TuneforgeModel())
