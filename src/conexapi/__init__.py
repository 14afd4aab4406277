"""ConexAPI: MercadoLibre Colombia to Siigo Nube, every paid sale exactly one invoice."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The one place the version is written is pyproject.toml; installs carry it as metadata.
    __version__ = version("conexapi")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
