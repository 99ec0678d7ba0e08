from __future__ import annotations

import numpy as np
import pytest

from paretodet.data import letterbox, unletterbox_boxes


@pytest.mark.parametrize(("h", "w"), [(240, 320), (320, 240), (100, 100), (500, 333)])
def test_letterbox_shape_and_inverse(h: int, w: int) -> None:
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    tensor, lb = letterbox(img, 160)
    assert tensor.shape == (1, 3, 160, 160) and tensor.dtype == np.float32
    assert tensor.min() >= 0.0 and tensor.max() <= 1.0
    box = np.array([[10.0, 20.0, 60.0, 90.0]])
    fwd = box * lb.ratio + np.array([lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y])
    back = unletterbox_boxes(fwd, lb)
    assert np.allclose(back, np.minimum(box, [w, h, w, h]), atol=1e-6)


def test_padding_is_grey_and_image_is_rgb() -> None:
    img = np.zeros((80, 160, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR
    tensor, lb = letterbox(img, 160)
    assert lb.pad_y == 40 and lb.pad_x == 0
    assert np.isclose(tensor[0, :, 0, 0], 114 / 255).all()  # pad
    assert tensor[0, 2, 80, 80] == 1.0 and tensor[0, 0, 80, 80] == 0.0  # channel 2 = blue after BGR->RGB
