#!/usr/bin/env python3
"""Generates the bundled sample images in samples/ (CC0: drawn by this script, no
photos involved). Needs Pillow: python3 -m pip install pillow. Run from the repo root:
    python3 scripts/make-samples.py
The outputs are committed; rerun only to change them."""
import math
from PIL import Image, ImageDraw

def sunset(w=1200, h=800):
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        t = y / h
        sky = (int(255 * (1 - t * 0.3)), int(120 + 100 * t), int(60 + 150 * t))
        for x in range(w):
            px[x, y] = sky
    d = ImageDraw.Draw(img)
    d.ellipse((w * 0.35, h * 0.45, w * 0.65, h * 0.45 + w * 0.3), fill=(255, 210, 80))
    d.rectangle((0, h * 0.7, w, h), fill=(30, 40, 90))
    for i in range(40):
        x = (i * 97) % w
        d.line((x, h * 0.72 + (i % 7) * 12, x + 60, h * 0.72 + (i % 7) * 12), fill=(250, 180, 90), width=3)
    return img

def badge(size=512):
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((16, 16, size - 16, size - 16), fill=(40, 120, 200, 255))
    d.ellipse((size * 0.3, size * 0.3, size * 0.7, size * 0.7), fill=(255, 255, 255, 160))
    for a in range(0, 360, 30):
        r = size * 0.42
        cx, cy = size / 2 + r * math.cos(math.radians(a)), size / 2 + r * math.sin(math.radians(a))
        d.ellipse((cx - 14, cy - 14, cx + 14, cy + 14), fill=(255, 200, 0, 255))
    return img

def checker(w=640, h=480, step=40):
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    for y in range(0, h, step):
        for x in range(0, w, step):
            c = (230, 230, 230) if (x // step + y // step) % 2 else (60, 60, 60)
            d.rectangle((x, y, x + step - 1, y + step - 1), fill=c)
    d.rectangle((0, 0, 120, 40), fill=(220, 30, 30))  # marks the top-left corner
    return img

sunset().save("samples/sunset.jpg", quality=88, optimize=True)
badge().save("samples/badge.png", optimize=True)
checker().save("samples/checker.webp", quality=85)
frames = [checker(160, 120, 20 + 10 * i).convert("P") for i in range(4)]
frames[0].save("samples/checker.gif", save_all=True, append_images=frames[1:], duration=200, loop=0)
