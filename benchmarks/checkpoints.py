"""The model versions of the storage benchmark (issue 15), written with the real `safetensors`.

A checkpoint is 24 layers plus embeddings and head (195 tensors), Gaussian weights with
sigma 0.02 and fixed seeds; at the default width (640) it is 257 MB of F16. `width_for(size)`
picks a narrower width for a quick run, so the tensor count stays the same.

Scenarios (each `write_versions` call yields one list of files per version):

- S1 partial fine-tune: the last 2 layers, the head and the final norm get N(0, 1e-3);
- S2 full fine-tune, F16: every tensor gets N(0, 1e-3);
- S2b full fine-tune, BF16: every tensor gets N(0, 1e-4);
- S3 only the header's `__metadata__` changes (it grows, so the data shifts by a few bytes);
- S4 one F16 model plus its int8 quantisation (per-row absmax scales): one version, 2 files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from safetensors import TensorSpec, serialize_file

VOCAB = 8192
LAYERS = 24
DEFAULT_WIDTH = 640
SCENARIOS = ("S1", "S2", "S2b", "S3", "S4")

# name -> (safetensors dtype name, array); BF16 values are held as their uint16 bit patterns
Tensors = dict[str, tuple[str, np.ndarray]]


def width_for(size_mib: float) -> int:
    """The model width (a multiple of 16) whose F16 checkpoint is closest to `size_mib`."""
    # bytes = 2 * (2 * VOCAB * w + LAYERS * 12 * w^2), ignoring the norms and the header
    a, b, c = 2 * LAYERS * 12, 2 * 2 * VOCAB, -size_mib * 1024 * 1024
    width = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return max(16, round(width / 16) * 16)


def to_bf16(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), rounded to nearest even."""
    bits = values.astype(np.float32).view(np.uint32)
    bits = bits + (0x7FFF + ((bits >> 16) & 1))
    return (bits >> 16).astype(np.uint16)


def from_bf16(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def base_model(width: int, dtype: str, layers: int = LAYERS) -> Tensors:
    rng = np.random.default_rng(0)

    def gaussian(*shape: int) -> tuple[str, np.ndarray]:
        return encode(rng.standard_normal(shape, dtype=np.float32) * 0.02, dtype)

    def ones() -> tuple[str, np.ndarray]:
        return encode(np.ones(width, dtype=np.float32), dtype)

    tensors: Tensors = {"embed.weight": gaussian(VOCAB, width)}
    for i in range(layers):
        p = f"layers.{i}."
        for name in ("q", "k", "v", "o"):
            tensors[p + f"attn.{name}.weight"] = gaussian(width, width)
        tensors[p + "mlp.up.weight"] = gaussian(4 * width, width)
        tensors[p + "mlp.down.weight"] = gaussian(width, 4 * width)
        tensors[p + "norm1.weight"] = ones()
        tensors[p + "norm2.weight"] = ones()
    tensors["norm.weight"] = ones()
    tensors["head.weight"] = gaussian(VOCAB, width)
    return tensors


def encode(values: np.ndarray, dtype: str) -> tuple[str, np.ndarray]:
    if dtype == "bfloat16":
        return dtype, to_bf16(values)
    return dtype, values.astype(np.float16)


def decode(tensor: tuple[str, np.ndarray]) -> np.ndarray:
    dtype, data = tensor
    return from_bf16(data) if dtype == "bfloat16" else data.astype(np.float32)


def fine_tune(tensors: Tensors, names: list[str], sigma: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for name in names:
        dtype, data = tensors[name]
        noise = rng.standard_normal(data.shape, dtype=np.float32) * sigma
        tensors[name] = encode(decode(tensors[name]) + noise, dtype)


def quantise(tensors: Tensors) -> Tensors:
    """int8 with one F16 absmax scale per row for 2-D tensors; 1-D tensors stay F16."""
    out: Tensors = {}
    for name, tensor in tensors.items():
        values = decode(tensor)
        if values.ndim != 2:
            out[name] = ("float16", values.astype(np.float16))
            continue
        scale = np.abs(values).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        out[name] = ("int8", np.clip(np.rint(values / scale), -127, 127).astype(np.int8))
        out[name + ".scale"] = ("float16", scale[:, 0].astype(np.float16))
    return out


def save(tensors: Tensors, path: Path, metadata: dict[str, str]) -> None:
    specs = {
        name: TensorSpec(
            dtype=dtype, shape=data.shape, data_ptr=data.ctypes.data, data_len=data.nbytes
        )
        for name, (dtype, data) in tensors.items()
    }
    serialize_file(specs, str(path), metadata=metadata)


def tuned_names(scenario: str, tensors: Tensors, layers: int = LAYERS) -> list[str]:
    if scenario in ("S2", "S2b"):
        return list(tensors)
    if scenario == "S1":
        last = (f"layers.{layers - 2}.", f"layers.{layers - 1}.")
        return [n for n in tensors if n.startswith(last) or n in ("head.weight", "norm.weight")]
    return []


def write_versions(
    scenario: str, versions: int, width: int, folder: Path, layers: int = LAYERS
) -> Iterator[list[Path]]:
    """Write each version's file(s) into `folder/vNN/` and yield their paths, oldest first.

    S4 has one version (a model and its quantisation); the others have `versions`.
    """
    dtype = "bfloat16" if scenario == "S2b" else "float16"
    sigma = 1e-4 if scenario == "S2b" else 1e-3
    tensors = base_model(width, dtype, layers)
    names = tuned_names(scenario, tensors, layers)
    for version in range(1 if scenario == "S4" else versions):
        if version and names:
            fine_tune(tensors, names, sigma, seed=1000 * version + SCENARIOS.index(scenario))
        where = folder / f"v{version + 1:02}"
        where.mkdir(parents=True)
        metadata = {"format": "pt", "version": str(version + 1)}
        if scenario == "S3":  # the header grows by 11 bytes a version: the data shifts
            metadata["notes"] = "fine-tuned " * version
        files = [where / "model.safetensors"]
        save(tensors, files[0], metadata)
        if scenario == "S4":
            files.append(where / "model-int8.safetensors")
            save(quantise(tensors), files[1], metadata)
        yield files
