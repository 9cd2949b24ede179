"""Exercises of lesson 7: finding faces with OpenCV's Haar cascade, cropping them and drawing the labels.

Their hints and worked solutions are in lesson7.md.
"""

import functools

import cv2
import numpy as np

from ..faces import sample_photo
from .core import Exercise, exercise, fail, need_function, need_shape


@functools.lru_cache(maxsize=1)
def photo_and_face() -> tuple[np.ndarray, tuple]:
    """The sample photo in gray, and the box (x, y, w, h) of the one face the Haar cascade finds in it."""
    gray = cv2.cvtColor(sample_photo(), cv2.COLOR_BGR2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    box = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(48, 48))[0]
    return gray, tuple(int(v) for v in box)


def overlap(a, b) -> float:
    """Intersection over union of two boxes (x, y, w, h)."""
    w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


@exercise(7, 1)
def q1(boxes):
    boxes = np.asarray(boxes)
    if boxes.shape == (4,):
        fail("a single box (x, y, w, h): give all of detectMultiScale's result, one row per face, shape (n, 4)")
    if boxes.size == 0:
        fail("no face found (detectMultiScale returned an empty tuple): did you convert to gray with "
             "cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)? Are minNeighbors or minSize too large?")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        fail(f"expected one row (x, y, w, h) per face, shape (n, 4), got {boxes.shape}")
    if len(boxes) > 1:
        fail(f"{len(boxes)} boxes for a photo with one face: false detections; raise minNeighbors (5 is usual) "
             "or set minSize=(48, 48)")
    face = photo_and_face()[1]
    if overlap(boxes[0], face) < 0.5:
        x, y, x2, y2 = boxes[0]
        if overlap((x, y, x2 - x, y2 - y), face) > 0.5:
            fail("your box looks like (x1, y1, x2, y2) corners: detectMultiScale gives (x, y, width, height)")
        fail(f"your box {tuple(int(v) for v in boxes[0])} misses the face at {face}")
    return f"one face at {tuple(int(v) for v in boxes[0])} (x, y, width, height)"


def resized(crop) -> np.ndarray:
    return cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA).astype("float32")


@exercise(7, 2)
def q2(face_input):
    need_function(face_input, "face_input(gray, box)")
    gray, (x, y, w, h) = photo_and_face()
    y, h = y + 40, h - 20  # not square, so that swapping x and y shows
    got = np.asarray(face_input(gray.copy(), (x, y, w, h)))
    if got.shape in ((48, 48), (48, 48, 1)):
        fail(f"shape {got.shape}: predict takes a batch; add the batch (and channel) axis: (1, 48, 48, 1)")
    got = need_shape(got, (1, 48, 48, 1), "crop, resize to 48x48, then reshape(1, 48, 48, 1)")[0, :, :, 0]
    if got.max() <= 1:
        fail("the values are in [0, 1]: the series' models divide by 255 themselves (their Rescaling layer); "
             "pass the gray values 0..255")
    error = np.abs(got - resized(gray[y:y + h, x:x + w])).mean()
    if error > 12 and np.abs(got - resized(gray[x:x + w, y:y + h])).mean() < error:
        fail("you cropped gray[x:x+w, y:y+h]: NumPy indexes rows first, so the crop is gray[y:y+h, x:x+w]")
    if error > 12:
        fail("your 48x48 face differs from the crop gray[y:y+h, x:x+w] resized to 48x48 with cv2.resize")
    return "the crop, resized to 48x48, as a batch of one"


@exercise(7, 3)
def q3(draw_label):
    need_function(draw_label, "draw_label(image, box, text)")
    image = np.full((200, 240, 3), 128, dtype=np.uint8)
    x, y, w, h = 60, 70, 80, 90
    out = draw_label(image.copy(), (x, y, w, h), "Happy")
    if out is None:
        fail("your function returns None: cv2.rectangle and cv2.putText draw into the image; return the image")
    changed = np.any(need_shape(out, image.shape, "draw on the colour image itself") != image, axis=2)
    if not changed[y + h // 2, x - 1:x + 2].any() or not changed[y + h // 2, x + w - 2:x + w + 1].any():
        if changed[(y + h) // 2, w - 1:w + 2].any():
            fail("the box ends at (w, h): the second corner of cv2.rectangle is (x + w, y + h)")
        fail("no rectangle along the box's left and right edges: cv2.rectangle(image, (x, y), (x + w, y + h), "
             "color, 2)")
    if changed[y + h // 2, x + w // 2]:
        fail("the inside of the box is painted over: give cv2.rectangle a thickness (2), not -1 (filled)")
    if not changed[:y - 5].any():  # above the rectangle and its line width
        fail("nothing is written above the box: cv2.putText(image, text, (x, y - 10), cv2.FONT_HERSHEY_SIMPLEX, "
             "0.8, color, 2)")
    return "the box and its label drawn"


q4 = Exercise(7, 4)  # answered in words
