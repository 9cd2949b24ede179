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


_notebook_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up the time of every notebook cell that nbval runs, per notebook."""
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Print each notebook's run time and the series' total against its 5-minute budget."""
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.section("notebook run times (nbval)")
    for path, seconds in sorted(_notebook_seconds.items()):
        tr.write_line(f"{seconds:7.1f} s  {path}")
    total = sum(_notebook_seconds.values())
    tr.write_line(f"{total:7.1f} s  all {len(_notebook_seconds)} notebooks (budget 300 s)")
