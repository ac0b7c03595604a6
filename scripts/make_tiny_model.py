"""Write a tiny, real safetensors file using only the standard library (for the demo)."""

from __future__ import annotations

import json
import random
import struct
import sys
from pathlib import Path


def main() -> None:
    path, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    shapes = {"embed.weight": [16, 8], "encoder.layer.0.weight": [8, 8], "classifier.bias": [2]}
    if seed > 1:
        shapes["classifier.weight"] = [2, 8]
    header, blobs, offset = {}, [], 0
    for name, shape in shapes.items():
        count = 1
        for dim in shape:
            count *= dim
        if name.startswith("embed") and seed > 1:
            rng_values = random.Random(1)  # unchanged between versions: same bytes
        else:
            rng_values = rng
        data = struct.pack(f"<{count}f", *(rng_values.uniform(-1, 1) for _ in range(count)))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


if __name__ == "__main__":
    main()
