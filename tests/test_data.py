"""The data layer: the CSV formats, every bad input, the cache, and finding/downloading the data set."""

import gzip
import json
import os

import numpy as np
import pytest

from fer_helpers import data as fd
from fer_helpers import prepare_face
from fer_helpers.cli import main


def write_csv(path, rows, header="emotion,pixels,Usage"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def pix(values):
    return " ".join(str(v) for v in values)


GOOD = pix([7] * 2304)
EMOTION_FOLDERS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # the folder copy's names


@pytest.fixture
def sample_csv(tmp_path, random_faces):
    images, labels, usage = random_faces
    return fd.write_fer_csv(tmp_path / "fer2013.csv", images, labels, usage), random_faces


def test_csv_round_trip_and_splits(sample_csv):
    path, (images, labels, usage) = sample_csv
    data = fd.load_fer2013(path)
    assert len(data) == 70 and data.images.shape == (70, 48, 48) and data.images.dtype == np.uint8
    assert np.array_equal(data.images, images) and np.array_equal(data.labels, labels)
    assert data.split_counts() == {"Training": 56, "PublicTest": 7, "PrivateTest": 7}
    pub = data.split("PublicTest")
    assert len(pub) == 7 and sorted(pub.labels.tolist()) == list(range(7))
    assert repr(data) == f"FERData(70 faces from {str(path)!r}; {{'Training': 56, 'PublicTest': 7, 'PrivateTest': 7}})"
    with pytest.raises(ValueError, match="no rows with Usage 'Validation'"):
        data.split("Validation")
    assert data.x.shape == (70, 48, 48, 1)


def test_gzip_csv_and_other_column_orders(tmp_path, sample_csv):
    path, (images, labels, usage) = sample_csv
    target = tmp_path / "fer2013.csv.gz"
    target.write_bytes(gzip.compress(path.read_bytes()))
    assert np.array_equal(fd.load_fer2013(target).images, images)
    spaced = tmp_path / "icml_face_data.csv"  # the challenge's file: other column order, spaces after the commas
    spaced.write_text("emotion, Usage, pixels\n" + "".join(
        f"{lab}, {use}, {pix(img.ravel())}\n" for img, lab, use in zip(images, labels, usage)))
    data = fd.load_fer2013(spaced)
    assert np.array_equal(data.images, images) and data.usage.tolist() == usage.tolist()
    assert fd.load_fer2013(fd.write_fer_csv(tmp_path / "no_usage.csv", images, labels)).split_counts() == {"(none)": 70}


def test_official_and_stratified_splits(sample_csv, tmp_path, random_faces):
    path, _ = sample_csv
    train, val = fd.official_splits(fd.load_fer2013(path))
    assert set(train.usage) == {"Training"} and set(val.usage) == {"PublicTest"}  # PrivateTest never used
    images, labels, _ = random_faces
    no_usage = fd.load_fer2013(fd.write_fer_csv(tmp_path / "nousage.csv", images, labels))
    a_train, a_val = fd.train_val_split(no_usage, val_fraction=0.2, seed=3)
    b_train, b_val = fd.train_val_split(no_usage, val_fraction=0.2, seed=3)
    assert np.array_equal(a_val.images, b_val.images)  # seeded
    assert np.bincount(a_val.labels).tolist() == [2] * 7  # stratified: 20% of each class's 10
    assert len(a_train) + len(a_val) == 70
    c_train, c_val = fd.train_val_split(no_usage, val_fraction=0.2, seed=4)
    assert not np.array_equal(a_val.images, c_val.images)


def test_official_splits_count_rows_without_usage_and_need_training_rows(random_faces):
    images, labels, usage = random_faces
    mixed = usage.copy()
    mixed[:3] = ""
    data = fd.FERData(images, labels, mixed, "mixed.csv")
    with pytest.warns(UserWarning, match="mixed.csv: 3 of 70 rows have no Usage and are left out"):
        train, val = fd.official_splits(data)
    assert len(train) == 53 and set(val.usage) == {"PublicTest"} and fd.validation_name(val, 0.1) == "PublicTest"
    tests_only = fd.FERData(images[usage != "Training"], labels[usage != "Training"], usage[usage != "Training"],
                            "tests.csv")
    with pytest.raises(ValueError, match=r"tests.csv: no Training rows to train on .*'PrivateTest', 'PublicTest'"):
        fd.official_splits(tests_only)
    none = fd.FERData(images, labels, np.array([""] * 70), "none.csv")
    train, val = fd.official_splits(none, val_fraction=0.2)
    assert len(val) == 14 and fd.validation_name(val, 0.2) == "stratified 20% of the data"
    training_only = fd.FERData(images, labels, np.array(["Training"] * 50 + ["PrivateTest"] * 20), "train.csv")
    train, val = fd.official_splits(training_only, val_fraction=0.25, seed=0)
    assert set(train.usage) == set(val.usage) == {"Training"} and len(train) + len(val) == 50
    assert fd.validation_name(val, 0.25) == "stratified 25% of the Training rows"


BAD_ROWS = [
    ("3," + pix([1] * 2303) + ",Training", "row 1 .*expected 2304 pixel values .*found 2303"),
    ("3," + pix([1] * 2303 + ["x9"]) + ",Training", "row 1 .*non-numeric token 'x9'"),
    ("3," + pix([1] * 2303 + [256]) + ",Training", "row 1 .*pixel value 256 outside 0..255"),
    ("7," + GOOD + ",Training", "row 1 .*emotion 7 outside 0..6"),
    ("happy," + GOOD + ",Training", "row 1 .*emotion 'happy' is not an integer label"),
    ("3,,Training", "row 1 .*found 0"),
]


@pytest.mark.parametrize("bad, match", BAD_ROWS)
def test_bad_row_names_file_and_row(tmp_path, bad, match):
    path = write_csv(tmp_path / "bad.csv", ["0," + GOOD + ",Training", bad, "6," + GOOD + ",PublicTest"])
    with pytest.raises(ValueError, match=f"bad.csv: {match}"):
        fd.load_fer2013(path)
    with pytest.warns(UserWarning, match="skipped 1 of 3 rows"):
        data = fd.load_fer2013(path, on_error="skip")
    assert len(data) == 2 and data.labels.tolist() == [0, 6]
    assert [r for r, _ in data.skipped] == [1]


def test_skip_reports_every_bad_row(tmp_path):
    rows = ["1," + GOOD + ",Training"] * 10
    rows[2] = "1," + pix([1] * 10) + ",Training"
    rows[9] = "9," + GOOD + ",Training"
    path = write_csv(tmp_path / "many.csv", rows)
    with pytest.warns(UserWarning, match=r"skipped 2 of 10 rows: row 2: .*; row 9: emotion 9"):
        data = fd.load_fer2013(path, on_error="skip")
    assert len(data) == 8 and [r for r, _ in data.skipped] == [2, 9]
    with pytest.raises(ValueError, match=r"row 2 \(line 4\)"):
        fd.load_fer2013(path)


def test_raise_counts_every_bad_row_of_the_file_and_bad_usage_is_a_row_problem(tmp_path):
    rows = ["1," + GOOD + ",Training"] * 12
    rows[1] = "1," + pix([1] * 10) + ",Training"
    rows[6] = "1," + GOOD + ",Validation"
    rows[11] = "8," + GOOD + ",Training"
    path = write_csv(tmp_path / "many.csv", rows)
    with pytest.raises(ValueError, match=r"many.csv: row 1 \(line 3\): .*found 10 \(and 2 more bad rows\)"):
        fd.load_fer2013(path)
    with pytest.warns(UserWarning, match=r"skipped 3 of 12 rows: .*row 6: Usage 'Validation' is not one of"):
        data = fd.load_fer2013(path, on_error="skip")
    assert len(data) == 9 and [r for r, _ in data.skipped] == [1, 6, 11] and set(data.usage) == {"Training"}


def test_missing_column_empty_and_header_only(tmp_path):
    with pytest.raises(ValueError, match="missing.csv: missing column 'pixels'"):
        fd.load_fer2013(write_csv(tmp_path / "missing.csv", ["3,Training"], header="emotion,Usage"))
    with pytest.raises(ValueError, match="nolabel.csv: missing column 'emotion'"):
        fd.load_fer2013(write_csv(tmp_path / "nolabel.csv", ["3," + GOOD], header="label,pixels"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv: the file is empty"):
        fd.load_fer2013(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("emotion,pixels,Usage\n")
    with pytest.raises(ValueError, match="header.csv: the file has a header but no rows"):
        fd.load_fer2013(tmp_path / "header.csv")
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        fd.load_fer2013(tmp_path / "nowhere.csv")
    with pytest.raises(ValueError, match=r"usage.csv: row 0 \(line 2\): Usage 'Valid' is not one of"):
        fd.load_fer2013(write_csv(tmp_path / "usage.csv", ["3," + GOOD + ",Valid"]))


def test_irregular_files_parse_row_by_row_and_agree(sample_csv, tmp_path):
    path, (images, labels, usage) = sample_csv
    text = path.read_text()
    (tmp_path / "crlf.csv").write_text(text.replace("\n", "\r\n"))
    crlf = fd.load_fer2013(tmp_path / "crlf.csv")
    assert np.array_equal(crlf.images, images) and crlf.labels.tolist() == labels.tolist()
    assert crlf.usage.tolist() == usage.tolist()
    (tmp_path / "letter.csv").write_text(text.replace(" 1", " l", 1))  # a letter l in place of a digit one
    with pytest.raises(ValueError, match=r"letter.csv: row \d+ \(line \d+\): non-numeric token 'l"):
        fd.load_fer2013(tmp_path / "letter.csv")


def test_parse_pixels_agrees_with_the_textbook_parse_and_names_what_is_wrong():
    faces = np.random.default_rng(5).integers(0, 256, size=(50, 2304))
    for face in faces:
        text = pix(face)
        assert np.array_equal(fd.parse_pixels(text), np.array(text.split(), dtype=np.uint8))
    assert fd.parse_pixels("  " + pix(["007"] + [1] * 2303) + " \t")[0] == 7  # leading zeros, extra spaces
    for first, reason in [("+5", r"non-numeric token '\+5'"), ("-0", "non-numeric token '-0'"),  # NumPy reads signs
                          ("1.5", "non-numeric token '1.5'"), ("0x1", "non-numeric token '0x1'"),
                          ("\u00b2", "non-numeric token '\u00b2'"), ("65541", "pixel value 65541 outside 0..255"),
                          ("9" * 30, "pixel value 9223372036854775807 outside"), ("1 1", "found 2305")]:
        with pytest.raises(ValueError, match=reason):
            fd.parse_pixels(pix([first] + [1] * 2303))


def test_cache_hit_and_invalidation(sample_csv, monkeypatch):
    path, (images, labels, usage) = sample_csv
    first = fd.load_fer2013(path)
    calls = []
    real_load = fd._load_csv
    monkeypatch.setattr(fd, "_load_csv", lambda *a: calls.append(a) or real_load(*a))
    again = fd.load_fer2013(path)
    assert calls == [] and np.array_equal(again.images, first.images)  # served from the cache
    assert list(fd.cache_dir().glob("*.npz"))
    # changing the source invalidates the cache
    fd.write_fer_csv(path, images[:10], labels[:10], usage[:10])
    os.utime(path, ns=(1, 1))
    changed = fd.load_fer2013(path)
    assert len(calls) == 1 and len(changed) == 10
    # cache files hold no pickles
    for f in fd.cache_dir().glob("*.npz"):
        with np.load(f, allow_pickle=False) as z:
            assert {"images", "labels", "usage"} <= set(z.files)


def test_loader_and_inference_preprocessing_agree(sample_csv):
    """Training (loader -> FERData.x) and inference (prepare_face on an image) give the model identical input."""
    path, (images, _, _) = sample_csv
    x_train = fd.load_fer2013(path).x
    for i in (0, 33, 69):
        colour_photo = np.repeat(images[i][:, :, None], 3, axis=2)  # what a camera would give (BGR)
        assert np.array_equal(prepare_face(colour_photo), x_train[i])


def test_locate_prefers_env_then_data_then_kagglehub(tmp_path, monkeypatch, sample_csv, capsys):
    path, _ = sample_csv
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fd, "repo_root", lambda: tmp_path / "norepo")
    monkeypatch.setenv("FER2013_PATH", str(path))
    assert fd.locate_fer2013() == path
    monkeypatch.setenv("FER2013_PATH", str(tmp_path / "absent.csv"))
    with pytest.raises(FileNotFoundError, match="FER2013_PATH"):
        fd.locate_fer2013()
    monkeypatch.delenv("FER2013_PATH")
    kh = fd.kagglehub_cache_dir() / "datasets" / "deadskull7" / "fer2013" / "versions" / "1"
    kh.mkdir(parents=True)
    (kh / "fer2013.csv").write_bytes(path.read_bytes())
    assert fd.locate_fer2013() == kh / "fer2013.csv"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fer2013.csv").write_bytes(path.read_bytes())
    assert fd.locate_fer2013() == tmp_path / "data" / "fer2013.csv"


def test_locate_ignores_other_data_sets(tmp_path, monkeypatch, sample_csv):
    path, _ = sample_csv
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fd, "repo_root", lambda: tmp_path / "norepo")
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kh"))
    datasets = tmp_path / "kh" / "datasets"
    titanic = datasets / "heptapod" / "titanic" / "versions" / "1"
    titanic.mkdir(parents=True)
    (titanic / "fer2013.csv").write_text("PassengerId,Survived\n1,0\n")  # another data set, whatever its files
    assert fd.locate_fer2013(verbose=False) == fd.embedded_dataset_path()
    download = datasets / "deadskull7" / "fer2013" / "versions" / "2"
    download.mkdir(parents=True)
    (download / "fer2013.csv.gz").write_bytes(gzip.compress(path.read_bytes()))
    assert fd.locate_fer2013() == download / "fer2013.csv.gz"


def test_locate_falls_back_to_embedded_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fd, "repo_root", lambda: tmp_path / "norepo")
    monkeypatch.setattr(fd, "_FALLBACK_ANNOUNCED", False)
    path = fd.locate_fer2013()
    out, err = capsys.readouterr()
    assert "FER2013 is not on this computer" in out and "embedded data set" in out and not err
    assert fd.locate_fer2013() == path
    assert capsys.readouterr().out == "", "the notice comes once per session"
    data = fd.load_fer2013(path)
    assert (data.usage != "").all() and set(data.labels.tolist()) == set(range(7))


def test_download_uses_kagglehub(tmp_path, monkeypatch, sample_csv):
    """The real download path, with kagglehub's network call replaced by a local stand-in."""
    import kagglehub

    path, _ = sample_csv
    served = tmp_path / "kaggle_cache" / "fer2013"
    served.mkdir(parents=True)
    (served / "fer2013.csv").write_bytes(path.read_bytes())
    asked = []
    monkeypatch.setattr(kagglehub, "dataset_download", lambda handle, **kw: asked.append(handle) or str(served))
    got = fd.download_fer2013()
    assert asked == ["deadskull7/fer2013"] and got == served / "fer2013.csv"
    copied = fd.download_fer2013(dest=tmp_path / "data")
    assert copied == tmp_path / "data" / "fer2013.csv" and copied.read_bytes() == path.read_bytes()
    (served / "fer2013.csv").unlink()
    with pytest.raises(ValueError, match="holds no fer2013.csv"):
        fd.download_fer2013()


def test_info_cli(sample_csv, capsys):
    path, (images, _, _) = sample_csv
    assert main(["info", str(path), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    as_float = images.astype(np.float64)  # the histogram's statistics are those of the pixels themselves
    assert s["pixels"]["mean"] == round(as_float.mean(), 2) and s["pixels"]["std"] == round(as_float.std(), 2)
    assert (s["pixels"]["min"], s["pixels"]["max"]) == (int(images.min()), int(images.max()))
    assert s["rows"] == 70 and s["splits"] == {"Training": 56, "PublicTest": 7, "PrivateTest": 7}
    assert s["classes"] == {name: 10 for name in ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")}
    assert s["classes_per_split"]["Training"]["Happy"] == 8
    assert 0 <= s["pixels"]["min"] <= s["pixels"]["mean"] <= s["pixels"]["max"] <= 255
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Training" in text and "Neutral" in text and "pixels: 48x48 uint8" in text


def test_info_cli_bad_file_exit_code_and_skip(tmp_path, capsys):
    write_csv(tmp_path / "bad.csv", ["3," + pix([1] * 5) + ",Training", "4," + GOOD + ",Training"])
    assert main(["info", str(tmp_path / "bad.csv")]) == 2
    assert "bad.csv: row 0 (line 2): expected 2304 pixel values" in capsys.readouterr().err
    with pytest.warns(UserWarning, match="skipped 1 of 2 rows"):
        assert main(["info", str(tmp_path / "bad.csv"), "--skip-bad-rows", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["rows"] == 1 and s["skipped"] == 1 and s["skipped_rows"][0]["row"] == 0
