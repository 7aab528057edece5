"""Evaluation of the track matcher (libs/matching): `python -m bench.matching`."""
