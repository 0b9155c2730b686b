"""revoke-runner: revoke the JWKS of many MongoDB Atlas OIDC identity providers, fast and safely."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("revoke-runner")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
