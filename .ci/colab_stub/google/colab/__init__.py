"""Stand-in for Google Colab's ``google.colab`` (see .ci/colab_stub/README.md); not the real module."""

from . import _message, drive, files, output  # noqa: F401  (the real module imports its submodules too)
