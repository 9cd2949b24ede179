"""Emotions on video and webcams: the video loop, a webcam photo in Colab, and a demo clip when there is no camera.

:func:`process_video` runs an :class:`~fer_helpers.faces.EmotionRecognizer` on a video file or camera;
:func:`snapshot_or_fallback` takes a webcam photo in Google Colab (elsewhere it uses a stand-in photo);
:func:`photo_from_user` asks for the learner's own photo; :func:`make_demo_video` writes a short clip of a still photo.
"""

from __future__ import annotations

import base64
import itertools
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from .faces import annotate, sample_photo

# --------------------------------------------------------------------------------------------------------- the loop
def open_capture(source):
    """An open ``cv2.VideoCapture`` and its name, for a camera number (``0``: the default webcam) or a video file."""
    camera = str(source).strip().isdigit()
    name = f"camera {int(source)}" if camera else str(source)
    if not camera and not Path(source).exists():
        raise FileNotFoundError(f"video not found: {source}")
    cap = cv2.VideoCapture(int(source) if camera else name)
    if camera and not cap.isOpened():
        raise OSError(f"{name} could not be opened (no such camera, or it is in use)")
    if not cap.isOpened() or Path(name).is_dir():
        raise ValueError(f"{name} is not a video OpenCV can read")
    return cap, name


def open_video_writer(path: Path, fps: float, size: tuple[int, int]):
    """An OpenCV ``VideoWriter`` for ``path`` (.mp4 or .avi); errors name the file."""
    codec = {".avi": "MJPG", ".mp4": "mp4v"}.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"output video must end in .mp4 or .avi, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    if not writer.isOpened():
        raise OSError(f"could not open {path} for writing ({codec} codec)")
    return writer


def draw_fps(frame: np.ndarray, fps: float) -> np.ndarray:
    """Write ``"FPS 29.7"`` in the top-left corner of ``frame`` (in place) and return it."""
    text, scale = f"FPS {fps:.1f}", max(0.5, frame.shape[0] / 720)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(frame, (0, 0), (tw + 10, th + base + 10), (0, 0, 0), cv2.FILLED)
    cv2.putText(frame, text, (5, th + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 255, 0), 1, cv2.LINE_AA)
    return frame


def process_video(source, recognizer, output=None, every_n: int = 1, show: bool = False,
                  max_frames: int | None = None, on_frame=None) -> dict:
    """Run ``recognizer`` on a video file or a camera number, drawing its results and an FPS counter on every frame.

    ``output``: annotated video to write (.mp4 or .avi). ``every_n``: classify only every n-th frame (the others
    reuse its results). ``show``: an OpenCV window (q or Esc stops). ``on_frame(index, annotated_frame, results)``
    is called for every frame. Returns statistics.
    """
    if int(every_n) != every_n or every_n < 1:
        raise ValueError(f"every_n must be a positive integer, got {every_n!r}")
    cap, name = open_capture(source)
    fps = cap.get(cv2.CAP_PROP_FPS) if 0 < cap.get(cv2.CAP_PROP_FPS) <= 240 else 30.0  # 0 or nonsense: unknown
    stats = {"frames": 0, "classified_frames": 0, "faces": 0, "output": None}
    frames = itertools.islice(iter(cap.read, (False, None)), max_frames)  # cap.read() until it fails
    writer, results, start = None, [], time.perf_counter()
    try:
        for index, (_, frame) in enumerate(frames):
            if index % every_n == 0:
                results = recognizer.predict(frame)
                stats["classified_frames"] += 1
                stats["faces"] += len(results)
            stats["frames"] = index + 1
            frame = draw_fps(annotate(frame, results), stats["frames"] / (time.perf_counter() - start))
            if output is not None:
                writer = writer or open_video_writer(Path(output), fps, frame.shape[1::-1])
                writer.write(frame)
                stats["output"] = str(output)
            if on_frame is not None:
                on_frame(index, frame, results)
            if show:
                cv2.imshow("fer_helpers: emotions (q to quit)", frame)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    if stats["frames"] == 0 and not name.startswith("camera"):
        raise ValueError(f"could not read any frame from {name}")
    return {**stats, "fps": stats["frames"] / (time.perf_counter() - start)}


# ------------------------------------------------------------------------------------------ photos in the notebook
TAKE_PHOTO_JS = """
async function takePhoto(quality) {
  const div = document.createElement('div'), capture = document.createElement('button');
  const video = document.createElement('video'), canvas = document.createElement('canvas');
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  capture.textContent = 'Capture';
  document.body.appendChild(div).append(capture, video);
  video.srcObject = stream;
  await video.play();
  google.colab.output.setIframeHeight(document.documentElement.scrollHeight, true);
  await new Promise((resolve) => capture.onclick = resolve);
  [canvas.width, canvas.height] = [video.videoWidth, video.videoHeight];
  canvas.getContext('2d').drawImage(video, 0, 0);
  stream.getVideoTracks()[0].stop(); div.remove();
  return canvas.toDataURL('image/jpeg', quality);
}
"""


def webcam_snapshot(quality: float = 0.8) -> np.ndarray:
    """A photo (BGR) from the webcam of the browser running Google Colab: a Capture button appears below the cell.
    ``ImportError`` outside Colab (see :func:`snapshot_or_fallback`)."""
    from google.colab.output import eval_js  # ImportError outside Colab
    from IPython.display import Javascript, display

    display(Javascript(TAKE_PHOTO_JS))
    data_url = eval_js(f"takePhoto({quality})")
    if not isinstance(data_url, str) or "," not in data_url:
        raise ValueError("the browser returned no photo (was the camera blocked?)")
    return cv2.imdecode(np.frombuffer(base64.b64decode(data_url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)


def snapshot_or_fallback(webcam: bool = True) -> np.ndarray:
    """A webcam photo in Colab (with ``webcam``); otherwise, saying why, the astronaut photo. BGR."""
    reason = "not running in Google Colab, so there is no browser webcam"
    try:
        if webcam:
            return webcam_snapshot()
        if sys.modules.get("google.colab") is not None:
            reason = "the webcam is off (tick USE_WEBCAM and run this cell again to take a snapshot)"
    except ImportError:
        pass
    except Exception as exc:  # camera blocked, no camera, tab closed...
        reason = f"the webcam photo failed ({type(exc).__name__}: {exc})"
    print(f"{reason}: using the bundled astronaut photo (skimage.data.astronaut) instead")
    return sample_photo()


def photo_from_user(path=None, upload: bool = False) -> str | None:
    """The path of the learner's photo: ``path`` if given, else on Colab with ``upload`` a file chooser; None (with
    a message saying what to do) when there is none."""
    if path:
        return str(path)
    in_colab = sys.modules.get("google.colab") is not None
    if not (in_colab and upload):
        print("no photo given: set MY_PHOTO to the path of a photo" + (
            ", or tick UPLOAD_PHOTO and run this cell again to choose one" if in_colab else ""))
        return None
    from google.colab import files

    uploaded = files.upload()  # a file chooser appears below the cell; {} when cancelled
    if not uploaded:
        print("the upload was cancelled: run this cell again to choose a photo")
    return next(iter(uploaded), None)


def make_demo_video(path, frames: int = 36, size=(320, 240), fps: float = 12.0, face=(170, 60, 90, 110)) -> Path:
    """Write a short video (.mp4 or .avi) that zooms from the whole astronaut photo in on its ``face`` (x, y, w, h)."""
    if int(frames) != frames or frames < 1:
        raise ValueError(f"frames must be a positive integer, got {frames!r}")
    photo, (out_w, out_h), (x, y, w, h) = sample_photo(), size, face
    start = np.array([photo.shape[1] / 2, photo.shape[0] / 2, photo.shape[1]])  # centre x, y and width of the view
    end = np.array([x + w / 2, y + h / 2, 2 * h * out_w / out_h])
    writer = open_video_writer(Path(path), fps, (out_w, out_h))
    try:
        for t in np.linspace(0, 1, int(frames)):
            cx, cy, width = (1 - t) * start + t * end
            s = out_w / width
            matrix = np.array([[s, 0, out_w / 2 - s * cx], [0, s, out_h / 2 - s * cy]])
            writer.write(cv2.warpAffine(photo, matrix, (out_w, out_h), borderMode=cv2.BORDER_REFLECT))
    finally:
        writer.release()
    return Path(path)
