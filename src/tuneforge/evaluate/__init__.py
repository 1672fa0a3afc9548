"""The evaluation stage: metrics, the TF-IDF baseline, slices, calibration, out-of-scope scores
and evaluate(predictor, examples), each imported from its own module.

Nothing is imported here: the command line reads light constants of this package (the
abstention scores) while building its parser, and must not pay for scikit-learn on every
``tuneforge --help``.
"""
