"""Top-to-bottom compositions of the stages."""
