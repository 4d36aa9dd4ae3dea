"""mar-lint: a linter for MXNet Model Server `.model` archives."""

__version__ = "0.1.0"
