import numpy as np
import pytest

from fer_helpers import prepare_face, prepare_faces
from fer_helpers.preprocessing import normalize


@pytest.fixture
def face():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(48, 48), dtype=np.uint8)


def test_48x48_gray_uint8_is_unchanged(face):
    out = prepare_face(face)
    assert out.shape == (48, 48, 1) and out.dtype == np.uint8
    assert np.array_equal(out[:, :, 0], face)
    assert np.array_equal(prepare_face(face[:, :, None]), out)


def test_colour_alpha_float_and_size_variants_agree(face):
    bgr = np.repeat(face[:, :, None], 3, axis=2)
    bgra = np.concatenate([bgr, np.full((48, 48, 1), 255, np.uint8)], axis=2)
    assert np.array_equal(prepare_face(bgr), prepare_face(face))
    assert np.array_equal(prepare_face(bgra), prepare_face(face))
    assert np.array_equal(prepare_face(face / 255.0), prepare_face(face))  # float in [0, 1]
    assert np.array_equal(prepare_face(face.astype(np.float32)), prepare_face(face))  # float in [0, 255]
    big = np.kron(face, np.ones((4, 4), np.uint8))  # 192x192, each pixel a 4x4 block
    assert np.array_equal(prepare_face(big), prepare_face(face))  # area downscale recovers the face


def test_rgb_order_matters_for_colour():
    img = np.zeros((10, 10, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR, red in RGB
    as_bgr = prepare_face(img)[0, 0, 0]
    as_rgb = prepare_face(img, color="rgb")[0, 0, 0]
    assert as_bgr < as_rgb  # blue is darker than red in luminance


def test_pil_input(face):
    from PIL import Image

    assert np.array_equal(prepare_face(Image.fromarray(face)), prepare_face(face))


@pytest.mark.parametrize("bad, match", [
    (np.zeros((0, 5), np.uint8), "empty"),
    (np.zeros((5, 5, 2), np.uint8), "1, 3 or 4 channels"),
    (np.full((5, 5), -1.0), r"\[0, 1\] or \[0, 255\]"),
    (np.full((5, 5), np.nan), "NaN"),
    (np.zeros((2, 2, 2, 2)), "2 or 3 dimensions"),
])
def test_bad_images_get_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        prepare_face(bad)


def test_batch_fast_path_equals_per_image(face):
    batch = np.stack([face, face[::-1], 255 - face])
    fast = prepare_faces(batch)
    slow = np.stack([prepare_face(f) for f in batch])
    assert fast.shape == (3, 48, 48, 1) and np.array_equal(fast, slow)
    mixed = prepare_faces([face, np.repeat(face[:, :, None], 3, 2)])
    assert np.array_equal(mixed[0], mixed[1])
    with pytest.raises(ValueError, match="image 1"):
        prepare_faces([face, np.zeros((0, 0))])


def test_normalize_range(face):
    x = normalize(face)
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    assert np.isclose(x.max(), face.max() / 255)
