"""Benchmarks of revoke-runner, each measured against a baseline in the same run.

``python -m bench`` (``make bench``) runs them all; ``python -m bench NAME...`` runs some. Each
benchmark alternates its A and B sides over several rounds and prints medians and ratios.
"""
