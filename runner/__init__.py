"""revoke-runner: revoke the JWKS of many MongoDB Atlas OIDC identity providers, fast and safely."""

# The one place the version is written (pyproject.toml reads it from here): asking
# importlib.metadata instead cost ~40 ms of every run's start.
__version__ = "0.1.0"
