"""The video loop on a synthetic clip, the demo clip, and the Colab webcam and its fallback."""

from __future__ import annotations

import base64
import sys
import types

import cv2
import numpy as np
import pytest

from fer_helpers.faces import EmotionRecognizer, FaceDetector, sample_photo
from fer_helpers.models import build_tutorial_cnn
from fer_helpers.video import make_demo_video, process_video, snapshot_or_fallback, webcam_snapshot

#: Where the face is in skimage.data.astronaut() (512x512): x 170-260, y 60-170.
FACE = (170, 60, 90, 110)


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    inter = max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))
    return inter / (aw * ah + bw * bh - inter)


@pytest.fixture(scope="module")
def recognizer():
    import keras

    keras.utils.set_random_seed(1)
    return EmotionRecognizer(build_tutorial_cnn(filters=(4, 8, 8), dense_units=16, name="tiny"))


def read_frames(path) -> list[np.ndarray]:
    cap, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A synthetic clip: the astronaut portrait drifting right across a gray background, 12 frames at 10 fps."""
    path, (w, h) = tmp_path_factory.mktemp("video") / "clip.mp4", (480, 360)
    face = cv2.resize(sample_photo(), (h, h), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    for i in range(12):
        canvas = np.full((h, w, 3), 100, np.uint8)
        canvas[:, 20 + 6 * i: 20 + 6 * i + h] = face
        writer.write(canvas)
    writer.release()
    return path


def test_process_video_writes_annotated_video(recognizer, clip, tmp_path, monkeypatch):
    calls, seen = [], []
    detect = recognizer.detector.detect
    monkeypatch.setattr(recognizer.detector, "detect", lambda image: calls.append(1) or detect(image))
    stats = process_video(clip, recognizer, output=tmp_path / "out" / "annotated.mp4", every_n=3,
                          on_frame=lambda i, frame, results: seen.append((i, frame, results)))
    assert stats["frames"] == 12 and stats["classified_frames"] == 4 and len(calls) == 4
    assert stats["faces"] >= 3 and stats["fps"] > 0  # the face is found on (nearly) every classified frame
    for i, _, results in seen:
        assert results is seen[i - i % 3][2]  # frames between classified ones reuse the last results
    k = 360 / 512  # the boxes follow the face as it drifts right (6 px per frame)
    for i, _, results in seen[::3]:
        face = (round(20 + 6 * i + FACE[0] * k), round(FACE[1] * k), round(FACE[2] * k), round(FACE[3] * k))
        assert not results or iou(results[0].box, face) >= 0.4
    for _, frame, _ in seen:  # the FPS counter: a black box with green text in the top-left corner
        corner = frame[:20, :60]
        assert (corner[:, :, 1] > 150).any() and (corner.sum(axis=2) == 0).any()
    written = read_frames(stats["output"])
    assert len(written) == 12 and written[0].shape == (360, 480, 3)


def test_process_video_max_frames_and_no_output(recognizer, clip):
    stats = process_video(clip, recognizer, max_frames=8)
    assert stats["frames"] == 8 and stats["classified_frames"] == 8 and stats["output"] is None
    assert stats["faces"] >= 7


def test_video_errors(recognizer, clip, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        process_video(tmp_path / "nope.mp4", recognizer)
    (tmp_path / "fake.mp4").write_text("not a video")
    with pytest.raises(ValueError, match="fake.mp4"):
        process_video(tmp_path / "fake.mp4", recognizer)
    with pytest.raises(OSError, match="camera 99"):
        process_video(99, recognizer)
    with pytest.raises(ValueError, match="every_n"):
        process_video(tmp_path / "fake.mp4", recognizer, every_n=0)
    with pytest.raises(ValueError, match=r"\.mp4 or \.avi"):
        process_video(clip, recognizer, output=tmp_path / "out.gif")
    assert list(tmp_path.iterdir()) == [tmp_path / "fake.mp4"]


def test_demo_video_zooms_in_on_the_face(tmp_path):
    frames = read_frames(make_demo_video(tmp_path / "clip.avi", frames=12, size=(160, 120), fps=8))
    assert len(frames) == 12 and frames[0].shape == (120, 160, 3)
    first, last = (FaceDetector(min_size=(20, 20)).detect(f) for f in (frames[0], frames[-1]))
    assert len(first) == 1 and len(last) == 1 and last[0][2] > 1.5 * first[0][2]
    with pytest.raises(ValueError, match="frames"):
        make_demo_video(tmp_path / "x.mp4", frames=0)
    with pytest.raises(ValueError, match=r"\.mp4"):
        make_demo_video(tmp_path / "x.gif")


# --------------------------------------------------------------------------------------------------------------- Colab
def test_snapshot_falls_back_to_the_astronaut_outside_colab(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", None)  # not in Colab, even if the package is installed
    image = snapshot_or_fallback()
    assert "not running in Google Colab" in capsys.readouterr().out
    from skimage import data

    assert np.array_equal(image[:, :, ::-1], data.astronaut())  # converted to BGR


def fake_colab(monkeypatch, eval_js):
    google, colab, output = (types.ModuleType(n) for n in ("google", "google.colab", "google.colab.output"))
    output.eval_js = eval_js
    google.colab, colab.output = colab, output
    for module in (google, colab, output):
        monkeypatch.setitem(sys.modules, module.__name__, module)


def test_webcam_snapshot_in_colab(monkeypatch, capsys):
    photo = np.zeros((60, 80, 3), np.uint8)
    photo[:, :40] = (255, 0, 0)  # blue left half (BGR)
    jpeg = cv2.imencode(".jpg", photo)[1].tobytes()
    asked, shown = [], []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    fake_colab(monkeypatch, lambda code: asked.append(code) or data_url)
    image = webcam_snapshot(quality=0.5)
    # the page first gets the JavaScript that defines takePhoto, then the call that runs it
    assert len(shown) == 1 and isinstance(shown[0], IPython.display.Javascript)
    script = shown[0].data
    assert "async function takePhoto(quality)" in script and "getUserMedia({video: true})" in script
    assert "return canvas.toDataURL('image/jpeg', quality);" in script and "getVideoTracks()[0].stop()" in script
    assert asked == ["takePhoto(0.5)"] and np.array_equal(image, cv2.imdecode(np.frombuffer(jpeg, np.uint8), 1))
    image = snapshot_or_fallback()
    assert image.shape == (60, 80, 3) and image[30, 10, 0] > 200 and image[30, 70, 0] < 50
    assert "astronaut" not in capsys.readouterr().out


def test_webcam_failure_in_colab_falls_back(monkeypatch, capsys):
    def eval_js(code):
        raise RuntimeError("NotAllowedError: Permission denied")

    fake_colab(monkeypatch, eval_js)
    image = snapshot_or_fallback()
    out = capsys.readouterr().out
    assert "Permission denied" in out and "astronaut" in out
    assert image.shape == (512, 512, 3)
