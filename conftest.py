"""Repository-wide pytest set-up, including the notebooks that nbval runs (see [tool.pytest.ini_options])."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("FER_FAST", "1")
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def _ignore_stderr_in_notebook_comparisons():
    """nbval compares every stream of a checked cell; TensorFlow and absl write timing-dependent lines to stderr.

    Only ``stdout`` and rich outputs are compared: stderr streams are dropped from both sides of the comparison.
    """
    try:
        from nbval import plugin
    except ImportError:  # nbval not installed: notebooks are not collected anyway
        return
    original = plugin.transform_streams_for_comparison

    def without_stderr(outputs):
        return original([o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")])

    plugin.transform_streams_for_comparison = without_stderr


_ignore_stderr_in_notebook_comparisons()
