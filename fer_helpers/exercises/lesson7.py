"""Exercises of lesson 7: finding faces with OpenCV's Haar cascade, cropping them and drawing the labels."""

import functools

import numpy as np

from ._base import CodingExercise, Mistake, ThoughtExercise, fail


def _photo_gray():
    import cv2

    from ..faces import sample_photo

    return cv2.cvtColor(sample_photo(), cv2.COLOR_BGR2GRAY)


def _detect(min_neighbors=5, min_size=(48, 48)):
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    return cascade.detectMultiScale(_photo_gray(), scaleFactor=1.1, minNeighbors=min_neighbors, minSize=min_size)


@functools.lru_cache(maxsize=1)
def _true_box():
    return tuple(int(v) for v in _detect()[0])


def _iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def _check_boxes(boxes):
    if isinstance(boxes, tuple) and len(boxes) == 0:
        fail("no face found (detectMultiScale returned an empty tuple): did you convert to gray with "
             "cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)? Are minNeighbors or minSize too large?")
    boxes = np.asarray(boxes)
    if boxes.shape == (4,):
        fail("a single box (x, y, w, h): return all of detectMultiScale's result, one row per face, shape (n, 4)")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        fail(f"expected one row (x, y, w, h) per face, shape (n, 4), got {boxes.shape}")
    if len(boxes) == 0:
        fail("no face found: are minNeighbors or minSize too large?")
    if len(boxes) > 1:
        fail(f"{len(boxes)} boxes for a photo with one face: false detections; raise minNeighbors (5 is usual) "
             "or set minSize=(48, 48)")
    if _iou(boxes[0], _true_box()) < 0.5:
        x, y, w, h = boxes[0]
        if _iou((x, y, w - x, h - y), _true_box()) > 0.5:
            fail("your box looks like (x1, y1, x2, y2) corners: detectMultiScale gives (x, y, width, height)")
        fail(f"your box {tuple(int(v) for v in boxes[0])} misses the face at {_true_box()}")
    return f"one face at {tuple(int(v) for v in boxes[0])} (x, y, width, height)"


def _corners():
    x, y, w, h = _detect()[0]
    return np.array([[x, y, x + w, y + h]])


q1 = CodingExercise(
    lesson=7, number=1, title="find the astronaut's face with CascadeClassifier.detectMultiScale",
    hint_text="gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY); cascade = cv2.CascadeClassifier(cv2.data.haarcascades "
              "+ 'haarcascade_frontalface_default.xml'); cascade.detectMultiScale(gray, scaleFactor=..., "
              "minNeighbors=..., minSize=...)",
    solution_text=("gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)\n"
                   "cascade = cv2.CascadeClassifier(cv2.data.haarcascades + \"haarcascade_frontalface_default.xml\")\n"
                   "answer = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(48, 48))\n"
                   "ex.q1.check(answer)"),
    validate=_check_boxes,
    make_reference=_detect,
    mistakes=[
        Mistake("no neighbours", lambda: _detect(min_neighbors=0, min_size=(20, 20)), "raise minNeighbors"),
        Mistake("nothing found", lambda: (), "empty tuple"),
        Mistake("one row", lambda: _detect()[0], "a single box"),
        Mistake("corners", _corners, "(x1, y1, x2, y2)"),
    ],
)


def _expected_input(gray, box):
    import cv2

    x, y, w, h = box
    return cv2.resize(gray[y:y + h, x:x + w], (48, 48), interpolation=cv2.INTER_AREA).astype("float32")


def _check_face_input(func):
    if not callable(func):
        fail(f"expected a function face_input(gray, box), got a {type(func).__name__}")
    gray = _photo_gray()
    box = (_true_box()[0], _true_box()[1] + 40, _true_box()[2], _true_box()[3] - 20)  # not square on purpose
    got = np.asarray(func(gray, box))
    expected = _expected_input(gray, box)
    if got.shape == (48, 48, 1) or got.shape == (48, 48):
        fail(f"shape {got.shape}: predict takes a batch; add the batch (and channel) axis: (1, 48, 48, 1)")
    if got.shape != (1, 48, 48, 1):
        fail(f"expected shape (1, 48, 48, 1), got {got.shape}: crop, resize to 48x48, then reshape(1, 48, 48, 1)")
    got = got[0, :, :, 0].astype("float32")
    if got.max() <= 1.0:
        fail("the values are in [0, 1]: the series' models divide by 255 themselves (their Rescaling layer); "
             "pass the gray values 0..255")
    x, y, w, h = box
    swapped = cv2_resize(gray[x:x + w, y:y + h])
    if np.abs(got - expected).mean() > 12:
        if np.abs(got - swapped).mean() < np.abs(got - expected).mean():
            fail("you cropped gray[x:x+w, y:y+h]: NumPy indexes rows first, so the crop is gray[y:y+h, x:x+w]")
        fail("your 48x48 face differs from the crop gray[y:y+h, x:x+w] resized to 48x48 with cv2.resize")
    return "the crop, resized to 48x48, as a batch of one"


def cv2_resize(image):
    import cv2

    return cv2.resize(image, (48, 48), interpolation=cv2.INTER_AREA).astype("float32")


def _face_input(gray, box):
    return _expected_input(gray, box).reshape(1, 48, 48, 1)


q2 = CodingExercise(
    lesson=7, number=2, title="a function that crops a detected face and prepares it for the model",
    hint_text="x, y, w, h = box; crop = gray[y:y + h, x:x + w] (rows first); cv2.resize(crop, (48, 48)); "
              "then reshape(1, 48, 48, 1) and astype('float32'). Keep 0..255: the model rescales.",
    solution_text=("def face_input(gray, box):\n    x, y, w, h = box\n    crop = gray[y:y + h, x:x + w]\n"
                   "    face = cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA)\n"
                   "    return face.reshape(1, 48, 48, 1).astype(\"float32\")\n\n"
                   "answer = face_input\nex.q2.check(answer)"),
    validate=_check_face_input,
    make_reference=lambda: _face_input,
    mistakes=[
        Mistake("x and y swapped", lambda: (lambda gray, box: cv2_resize(gray[box[0]:box[0] + box[2],
                                                                            box[1]:box[1] + box[3]])
                                            .reshape(1, 48, 48, 1)), "gray[y:y+h, x:x+w]"),
        Mistake("no batch axis", lambda: (lambda gray, box: _face_input(gray, box)[0]), "(1, 48, 48, 1)"),
        Mistake("divided by 255", lambda: (lambda gray, box: _face_input(gray, box) / 255.0), "Rescaling"),
    ],
)


def _check_drawing(func):
    if not callable(func):
        fail(f"expected a function draw_label(image, box, text), got a {type(func).__name__}")
    image = np.full((200, 240, 3), 128, dtype=np.uint8)
    box = (60, 70, 80, 90)
    out = func(image.copy(), box, "Happy")
    if out is None:
        fail("your function returns None: cv2.rectangle and cv2.putText draw into the image; return the image")
    out = np.asarray(out)
    if out.shape != image.shape:
        fail(f"the returned image has shape {out.shape}, expected {image.shape}: draw on the colour image itself")
    changed = np.any(out != image, axis=2)
    x, y, w, h = box
    if not changed[y + h // 2, x - 1:x + 2].any() or not changed[y + h // 2, x + w - 2:x + w + 1].any():
        if changed[(y + h) // 2, w - 1:w + 2].any():
            fail("the box ends at (w, h): the second corner of cv2.rectangle is (x + w, y + h)")
        fail("no rectangle along the box's left and right edges: cv2.rectangle(image, (x, y), (x + w, y + h), "
             "color, 2)")
    if changed[y + h // 2, x + w // 2]:
        fail("the inside of the box is painted over: give cv2.rectangle a thickness (2), not -1 (filled)")
    if not changed[: y, :].any():
        fail("nothing is written above the box: cv2.putText(image, text, (x, y - 10), cv2.FONT_HERSHEY_SIMPLEX, "
             "0.8, color, 2)")
    return "the box and its label drawn"


def _draw(image, box, text, second=None, thickness=2):
    import cv2

    x, y, w, h = box
    cv2.rectangle(image, (x, y), second or (x + w, y + h), (0, 255, 0), thickness)
    cv2.putText(image, text, (x, y - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2)
    return image


q3 = CodingExercise(
    lesson=7, number=3, title="a function that draws a face's box and emotion with cv2.rectangle and cv2.putText",
    hint_text="cv2.rectangle(image, (x, y), (x + w, y + h), (0, 255, 0), 2), then cv2.putText(image, text, "
              "(x, y - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2); return image.",
    solution_text=("def draw_label(image, box, text):\n    x, y, w, h = box\n"
                   "    cv2.rectangle(image, (x, y), (x + w, y + h), (0, 255, 0), 2)\n"
                   "    cv2.putText(image, text, (x, y - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2)\n"
                   "    return image\n\nanswer = draw_label\nex.q3.check(answer)"),
    validate=_check_drawing,
    make_reference=lambda: _draw,
    mistakes=[
        Mistake("returns None", lambda: (lambda image, box, text: [_draw(image, box, text), None][1]), "returns None"),
        Mistake("(w, h) corner", lambda: (lambda image, box, text: _draw(image, box, text, second=(box[2], box[3]))),
                "(x + w, y + h)"),
        Mistake("filled", lambda: (lambda image, box, text: _draw(image, box, text, thickness=-1)), "filled"),
    ],
)

q4 = ThoughtExercise(
    lesson=7, number=4, title="how scaleFactor and minNeighbors interact",
    hint_text="Compare the detections for scaleFactor 1.05 and 1.3 with the same minNeighbors (the sliders, or "
              "detection_comparison_figure).",
    solution_text=("detectMultiScale scans the image at a series of sizes, each scaleFactor times smaller than the "
                   "last, and a real face is usually found several times, at neighbouring positions and sizes; "
                   "minNeighbors is how many such overlapping hits a box needs to be kept. A small scaleFactor "
                   "(1.05) scans many sizes, so a face collects many hits, and so do some false patterns: it needs a "
                   "higher minNeighbors. A large one (1.3) scans few sizes, is faster, but a face gets fewer hits "
                   "(and can fall between two sizes), so the same minNeighbors may now drop the real face."),
)
