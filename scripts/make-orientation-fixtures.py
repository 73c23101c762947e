#!/usr/bin/env python3
"""Generates tests/fixtures/orient_N.jpg (N = 1..8): the same upright 64x48 picture
stored with EXIF orientation N, so applying the orientation yields the upright picture.

Upright picture: four solid quadrants, top-left red (255,0,0), top-right green
(0,200,0), bottom-left blue (0,0,255), bottom-right yellow (255,200,0). Quality 95,
4:4:4 sampling, so a pixel in the middle of a quadrant is within a few levels.
CC0: drawn by this script. Needs Pillow (python3 -m venv /tmp/pil &&
/tmp/pil/bin/pip install pillow). Run from the repo root:
    /tmp/pil/bin/python scripts/make-orientation-fixtures.py
The outputs are committed; rerun only to change them."""
from PIL import Image, ImageOps

W, H = 64, 48
CORNERS = {"tl": (255, 0, 0), "tr": (0, 200, 0), "bl": (0, 0, 255), "br": (255, 200, 0)}

def upright():
    img = Image.new("RGB", (W, H))
    half_w, half_h = W // 2, H // 2
    img.paste(CORNERS["tl"], (0, 0, half_w, half_h))
    img.paste(CORNERS["tr"], (half_w, 0, W, half_h))
    img.paste(CORNERS["bl"], (0, half_h, half_w, H))
    img.paste(CORNERS["br"], (half_w, half_h, W, H))
    return img

# What must be done to the upright picture so that orientation N's fix (as in
# Pillow's exif_transpose) brings it back: the inverse of the fix.
STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,    # fix is ROTATE_270 (90 degrees clockwise)
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,   # fix is ROTATE_90 (90 degrees counter-clockwise)
}

def main():
    up = upright()
    for n, op in STORE.items():
        stored = up if op is None else up.transpose(op)
        exif = Image.Exif()
        exif[0x0112] = n
        path = f"tests/fixtures/orient_{n}.jpg"
        stored.save(path, quality=95, subsampling=0, exif=exif.tobytes())
        # check: Pillow's own fix must give the upright picture back
        back = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        assert back.size == (W, H), (n, back.size)
        for (x, y), name in [((8, 8), "tl"), ((W - 8, 8), "tr"), ((8, H - 8), "bl"), ((W - 8, H - 8), "br")]:
            got = back.getpixel((x, y))
            assert all(abs(a - b) <= 12 for a, b in zip(got, CORNERS[name])), (n, name, got)
        print(path, stored.size)

if __name__ == "__main__":
    main()
