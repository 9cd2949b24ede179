"""Checks against the real FER2013 where the development copy sits beside the repository (../shared/fer2013).

Nothing from the data set is stored in the repository: these tests only count and measure.
"""

import json
from pathlib import Path

import pytest

from fer_helpers.cli import main

FER2013 = Path(__file__).resolve().parents[2] / "shared" / "fer2013" / "fer2013.csv.gz"
pytestmark = pytest.mark.skipif(not FER2013.exists(), reason="FER2013 development copy not present")


def test_info_reports_the_official_counts(capsys):
    assert main(["info", str(FER2013), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["splits"] == {"Training": 28709, "PublicTest": 3435}
    assert list(s["classes_per_split"]["Training"].values()) == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert list(s["classes_per_split"]["PublicTest"].values()) == [467, 56, 496, 895, 653, 261, 607]
    assert s["skipped"] == 0 and s["pixels"]["min"] == 0 and s["pixels"]["max"] == 255
