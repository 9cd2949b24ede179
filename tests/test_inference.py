import numpy as np

from fer_helpers.inference import predict_labels, predict_proba
from fer_helpers.models import build_tutorial_cnn


def test_batched_traced_path_equals_direct_call_and_tta_averages():
    model = build_tutorial_cnn(filters=(4, 4, 4), dense_units=8)
    faces = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    direct = predict_proba(model, faces, batch_size=256)  # one eager call
    batched = predict_proba(model, faces, batch_size=4)  # traced graph, batches of 4, 4 and 2
    assert direct.shape == (10, 7)
    np.testing.assert_allclose(batched, direct, atol=1e-5)
    flipped = predict_proba(model, faces[:, :, ::-1])
    np.testing.assert_allclose(predict_proba(model, faces, tta=True), (direct + flipped) / 2, atol=1e-5)
    assert predict_labels(model, faces).tolist() == direct.argmax(1).tolist()
    assert predict_proba(model, np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
