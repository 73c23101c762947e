#!/usr/bin/env python3
"""Generates the colour-management fixtures in tests/fixtures/ and prints the sRGB
reference pixels the tests in tests/it/process.rs hard-code (computed here by lcms2,
through Pillow's ImageCms, so they do not come from the code under test).

- cmyk_icc.jpg: 32x32 CMYK JPEG (Adobe APP14, inverted samples as Photoshop and
  Pillow write them) with an embedded CMYK profile, four flat 16x16 patches.
- cmyk_plain.jpg: the same pixels without a profile (the naive conversion applies).
- cmyk_icc.tif: the same pixels and profile as a Deflate TIFF (ink amounts, tag 34675).
- p3.png / p3.jpg / p3.webp / p3.avif: 16x16 flat (200, 100, 50) tagged Display P3 (the
  600-byte v4 profile of the shared corpus's valid/png/icc_display_p3.png, CC0),
  as iCCP / APP2 / ICCP / colr prof.

The CMYK profile is written by this script (so it is CC0 and 3.8 KB): an ICC v2
printer profile with one lut16 A2B0 table (5x5x5x5 grid, Lab PCS) that models four
imperfect inks multiplying in linear light. It is not a real press profile; it only
has to be unlike the naive formula so that a test can tell the two apart.

CC0. Needs Pillow (python3 -m venv /tmp/pil && /tmp/pil/bin/pip install pillow).
Run from the repo root:  /tmp/pil/bin/python scripts/make-icc-fixtures.py
The outputs are committed; rerun only to change them."""
import io
import struct

from PIL import Image, ImageCms

OUT = "tests/fixtures/"

# Linear-light transmittance of each ink at 100 % (R, G, B).
INKS = [
    (0.15, 0.55, 0.85),  # cyan
    (0.85, 0.10, 0.45),  # magenta
    (0.95, 0.85, 0.05),  # yellow
    (0.03, 0.03, 0.04),  # black
]
GRID = 5
SRGB_TO_XYZ_D50 = [
    (0.4360747, 0.3850649, 0.1430804),
    (0.2225045, 0.7168786, 0.0606169),
    (0.0139322, 0.0971045, 0.7141733),
]
D50 = (0.9642, 1.0, 0.8249)


def s15f16(v):
    return struct.pack(">i", round(v * 65536))


def lab_of(cmyk):
    rgb = [1.0, 1.0, 1.0]
    for amount, ink in zip(cmyk, INKS):
        for ch in range(3):
            rgb[ch] *= 1 - amount * (1 - ink[ch])
    xyz = [sum(m * c for m, c in zip(row, rgb)) for row in SRGB_TO_XYZ_D50]

    def f(t):
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = (f(v / w) for v, w in zip(xyz, D50))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def tag(sig, body):
    return sig, body + b"\0" * (-len(body) % 4)


def cmyk_profile():
    nodes = [i / (GRID - 1) for i in range(GRID)]
    clut = b""
    for c in nodes:  # the first input channel varies slowest
        for m in nodes:
            for y in nodes:
                for k in nodes:
                    L, a, b = lab_of((c, m, y, k))
                    enc = (L * 65280 / 100, (a + 128) * 256, (b + 128) * 256)
                    clut += struct.pack(">3H", *(max(0, min(65535, round(v))) for v in enc))
    identity = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    a2b0 = (
        b"mft2\0\0\0\0" + bytes([4, 3, GRID, 0]) + b"".join(s15f16(v) for v in identity)
        + struct.pack(">HH", 2, 2) + struct.pack(">2H", 0, 65535) * 4 + clut
        + struct.pack(">2H", 0, 65535) * 3
    )
    text = b"aperture test CMYK (four inks, not a press)"
    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0"
            + b"\0" * 8 + b"\0\0\0" + b"\0" * 67)
    tags = [
        tag(b"desc", desc),
        tag(b"cprt", b"text\0\0\0\0CC0\0"),
        tag(b"wtpt", b"XYZ \0\0\0\0" + b"".join(s15f16(v) for v in D50)),
        tag(b"A2B0", a2b0),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"\0\0\0\0" + struct.pack(">I", 0x02100000)
        + b"prtrCMYKLab " + struct.pack(">6H", 2026, 11, 29, 0, 0, 0) + b"acsp"
        + b"\0" * 28 + b"".join(s15f16(v) for v in D50) + b"\0" * 48
    )
    assert len(header) == 128
    return header + table + data


PATCHES = [  # CMYK ink amounts, 0..255
    (255, 0, 0, 0),      # cyan
    (0, 255, 255, 0),    # red
    (0, 0, 0, 128),      # half black
    (64, 128, 191, 64),  # a brown on grid nodes
]


def cmyk_image():
    img = Image.new("CMYK", (32, 32))
    for i, ink in enumerate(PATCHES):
        x, y = 16 * (i % 2), 16 * (i // 2)
        img.paste(ink, (x, y, x + 16, y + 16))
    return img


def centres(img):
    return [img.getpixel((16 * (i % 2) + 8, 16 * (i // 2) + 8)) for i in range(4)]


def naive(cmyk):
    c, m, y, k = (255 - v for v in cmyk)
    return tuple((v * k + 127) // 255 for v in (c, m, y))


def main():
    srgb = ImageCms.createProfile("sRGB")
    icc = cmyk_profile()
    save = dict(quality=95, subsampling=0)
    cmyk_image().save(OUT + "cmyk_icc.jpg", icc_profile=icc, **save)
    cmyk_image().save(OUT + "cmyk_plain.jpg", **save)
    cmyk_image().save(OUT + "cmyk_icc.tif", icc_profile=icc, compression="tiff_adobe_deflate")
    decoded = Image.open(OUT + "cmyk_icc.jpg")
    decoded.load()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    t = ImageCms.buildTransform(profile, srgb, "CMYK", "RGB", renderingIntent=0)
    print("cmyk_icc.jpg ->", centres(ImageCms.applyTransform(decoded, t)))
    tif = Image.open(OUT + "cmyk_icc.tif")
    print("cmyk_icc.tif ->", centres(ImageCms.applyTransform(tif, t)))
    plain = Image.open(OUT + "cmyk_plain.jpg")
    print("cmyk_plain.jpg (decoded inks) ->", centres(plain),
          "naive:", [naive(p) for p in centres(plain)])

    p3 = Image.open("/work/shared/corpus/valid/png/icc_display_p3.png").info["icc_profile"]
    flat = Image.new("RGB", (16, 16), (200, 100, 50))
    flat.save(OUT + "p3.png", icc_profile=p3)
    flat.save(OUT + "p3.jpg", icc_profile=p3, **save)
    flat.save(OUT + "p3.webp", icc_profile=p3, lossless=True)
    flat.save(OUT + "p3.avif", icc_profile=p3, quality=100, subsampling="4:4:4")
    t = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(p3)), srgb, "RGB", "RGB",
                                renderingIntent=1)
    for name in ("p3.png", "p3.jpg", "p3.webp", "p3.avif"):
        img = Image.open(OUT + name).convert("RGB")
        print(name, img.getpixel((8, 8)), "->",
              ImageCms.applyTransform(img, t).getpixel((8, 8)))


main()
