"""ONNX: a protobuf ModelProto, read field by field from the wire format (no protobuf library).

Protobuf has no magic number, so a file is taken as ONNX by its `.onnx` suffix. Only the
model's own fields, its opset imports and the top-level graph's nodes, initializers, inputs
and outputs are read; everything else, initializer data above all (it can be gigabytes), is
skipped by seeking. An initializer whose data sits in one field of the file gets a byte range,
so the add pass can hash it for a tensor manifest. Field numbers are those of onnx.proto.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.formats import (
    MAX_TENSORS,
    FormatError,
    FormatScan,
    HeaderReader,
    HeaderStream,
    TensorEntry,
    clip_list,
    clip_text,
)
from gitmodel.pointer import FactValue

VARINT, I64, LEN, I32 = 0, 1, 2, 5
MAX_STRING = 64 * 1024  # names, op types, producer: longer ones are refused
MAX_PACKED_DIMS = 1024  # bytes of one packed `dims` field
MAX_DIMS = 64
MAX_KEPT_NAMES = 1 << 16  # graph inputs remembered (to drop the initializers among them)
MAX_OP_TYPES = 4096
MAX_LIST = 16  # items of a list fact (inputs, outputs, opsets)
MAX_OP_TYPE_FACT = 64
INT64_MAX = (1 << 63) - 1
EXTERNAL = 1  # TensorProto.DataLocation

# TensorProto.DataType
DATA_TYPES = {
    0: "UNDEFINED",
    1: "FLOAT",
    2: "UINT8",
    3: "INT8",
    4: "UINT16",
    5: "INT16",
    6: "INT32",
    7: "INT64",
    8: "STRING",
    9: "BOOL",
    10: "FLOAT16",
    11: "DOUBLE",
    12: "UINT32",
    13: "UINT64",
    14: "COMPLEX64",
    15: "COMPLEX128",
    16: "BFLOAT16",
    17: "FLOAT8E4M3FN",
    18: "FLOAT8E4M3FNUZ",
    19: "FLOAT8E5M2",
    20: "FLOAT8E5M2FNUZ",
    21: "UINT4",
    22: "INT4",
    23: "FLOAT4E2M1",
    24: "FLOAT8E8M0",
    25: "UINT2",
    26: "INT2",
    27: "FLOAT6E2M3",
    28: "FLOAT6E3M2",
}
# TensorProto fields that hold the data: float, int32, string, int64, raw, double, uint64.
DATA_FIELDS = (4, 5, 6, 7, 9, 10, 11)

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


def looks_like(path: Path | str) -> bool:
    return os.path.splitext(path)[1].lower() == ".onnx"


@dataclass
class _Tensor:
    name: str = ""
    dims: list[int] = field(default_factory=list)
    data_type: int = 0
    payloads: int = 0  # data fields seen
    data: tuple[int, int] | None = None  # (begin, end) of the one length-delimited data field
    external: bool = False
    location: str = ""  # the external data file, relative to the model file


@dataclass
class _Graph:
    name: str = ""
    nodes: int = 0
    op_types: set[str] = field(default_factory=set)
    initializers: int = 0
    parameters: int = 0
    initializer_names: set[str] = field(default_factory=set)
    dtypes: set[str] = field(default_factory=set)
    tensors: list[TensorEntry] | None = field(default_factory=list)  # None: not all ranged
    external: bool = False
    external_files: set[str] = field(default_factory=set)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def scan(stream: HeaderStream, file_size: int) -> FormatScan:
    r = HeaderReader(stream, file_size)
    ir_version: int | None = None
    producer = ["", ""]
    domain, model_version = "", 0
    opsets: dict[str, int] = {}
    graph = _Graph()
    for number, wire, value in _fields(r, file_size, "model"):
        if number == 1:
            ir_version = _signed(_varint(number, wire, value, "model"))
        elif number in (2, 3):
            producer[number - 2] = _text(r, number, wire, value, "model")
        elif number == 4:
            domain = _text(r, number, wire, value, "model")
        elif number == 5:
            model_version = _signed(_varint(number, wire, value, "model"))
        elif number == 7:
            _expect(number, wire, LEN, "model")
            _graph(r, r.pos + value, graph)
        elif number == 8:
            _expect(number, wire, LEN, "model")
            opset_domain, version = _opset(r, r.pos + value)
            opsets[opset_domain or "ai.onnx"] = version
    if ir_version is None:
        raise FormatError("not an ONNX model: it has no ir_version")
    return FormatScan(
        name="onnx",
        facts=_facts(ir_version, producer, domain, model_version, opsets, graph),
        tensors=graph.tensors or (),
        external_files=tuple(sorted(graph.external_files)),
    )


def _facts(
    ir_version: int,
    producer: list[str],
    domain: str,
    model_version: int,
    opsets: dict[str, int],
    graph: _Graph,
) -> dict[str, FactValue]:
    facts: dict[str, FactValue] = {"ir_version": ir_version}
    if "ai.onnx" in opsets:
        facts["opset"] = opsets["ai.onnx"]
    if len(opsets) > 1:
        facts["opsets"] = clip_list(sorted(f"{d}:{v}" for d, v in opsets.items()), MAX_LIST)
    if any(producer):
        facts["producer"] = clip_text(" ".join(p for p in producer if p))
    if domain:
        facts["domain"] = clip_text(domain)
    if model_version:
        facts["model_version"] = model_version
    if graph.name:
        facts["graph"] = clip_text(graph.name)
    inputs = (n for n in graph.inputs if n not in graph.initializer_names)
    facts["inputs"] = clip_list(inputs, MAX_LIST)
    facts["outputs"] = clip_list(graph.outputs, MAX_LIST)
    facts["nodes"] = graph.nodes
    facts["op_types"] = clip_list(sorted(graph.op_types), MAX_OP_TYPE_FACT)
    facts["initializers"] = graph.initializers
    facts["parameters"] = graph.parameters
    facts["dtypes"] = clip_list(sorted(graph.dtypes), MAX_OP_TYPE_FACT)
    if graph.external:
        facts["external_data"] = True
    return facts


def _fields(r: HeaderReader, end: int, what: str) -> Iterator[tuple[int, int, int]]:
    """(field number, wire type, value) of each field of the message that ends at `end`.

    The value of a varint or fixed-width field is its integer; that of a length-delimited field
    its length, with the reader at its first byte. The caller may read such a field or not:
    the next field is found after it either way.
    """
    while r.pos < end:
        key = r.varint(what)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise FormatError(f"{what}: field number 0 is not valid protobuf")
        if wire == VARINT:
            yield number, wire, r.varint(what)
        elif wire == I64:
            yield number, wire, r.unpack(_U64, what)[0]
        elif wire == I32:
            yield number, wire, r.unpack(_U32, what)[0]
        elif wire == LEN:
            length = r.varint(what)
            if length > end - r.pos:
                raise FormatError(f"{what}: field {number} runs past the end of its message")
            start = r.pos
            yield number, wire, length
            r.pos = start + length
        else:
            raise FormatError(f"{what}: field {number} has wire type {wire}, not supported")
    if r.pos != end:
        raise FormatError(f"{what}: the last field runs past the end of its message")


def _expect(number: int, wire: int, expected: int, what: str) -> None:
    if wire != expected:
        raise FormatError(f"{what}: field {number} has wire type {wire}, expected {expected}")


def _varint(number: int, wire: int, value: int, what: str) -> int:
    _expect(number, wire, VARINT, what)
    return value


def _signed(value: int) -> int:
    return value - (1 << 64) if value > INT64_MAX else value


def _text(r: HeaderReader, number: int, wire: int, length: int, what: str) -> str:
    _expect(number, wire, LEN, what)
    if length > MAX_STRING:
        raise FormatError(f"{what}: field {number} is a {length}-byte string, over {MAX_STRING}")
    return r.read(length, what).decode("utf-8", errors="replace")


def _opset(r: HeaderReader, end: int) -> tuple[str, int]:
    domain, version = "", 0
    for number, wire, value in _fields(r, end, "opset_import"):
        if number == 1:
            domain = _text(r, number, wire, value, "opset_import")
        elif number == 2:
            version = _signed(_varint(number, wire, value, "opset_import"))
    return domain, version


def _graph(r: HeaderReader, end: int, graph: _Graph) -> None:
    for number, wire, value in _fields(r, end, "graph"):
        if number == 2:
            graph.name = _text(r, number, wire, value, "graph")
            continue
        if number not in (1, 5, 11, 12, 15):
            continue
        _expect(number, wire, LEN, "graph")
        if number == 1:
            graph.nodes += 1
            op_type = _named(r, r.pos + value, 4, f"node {graph.nodes}")
            if len(graph.op_types) < MAX_OP_TYPES:
                graph.op_types.add(op_type)
        elif number in (5, 15):
            _initializer(r, r.pos + value, graph, sparse=number == 15)
        elif number == 11 and len(graph.inputs) < MAX_KEPT_NAMES:
            graph.inputs.append(_named(r, r.pos + value, 1, "graph input"))
        elif number == 12 and len(graph.outputs) < MAX_LIST:
            graph.outputs.append(_named(r, r.pos + value, 1, "graph output"))


def _named(r: HeaderReader, end: int, name_field: int, what: str) -> str:
    """One string field of a message (a node's op_type, a value info's name)."""
    name = ""
    for number, wire, value in _fields(r, end, what):
        if number == name_field:
            name = _text(r, number, wire, value, what)
    return name


def _initializer(r: HeaderReader, end: int, graph: _Graph, sparse: bool) -> None:
    graph.initializers += 1
    if graph.initializers > MAX_TENSORS:
        raise FormatError(f"more than {MAX_TENSORS} initializers")
    what = f"initializer {graph.initializers}"
    if sparse:  # SparseTensorProto: values=1 (a TensorProto), dims=3
        tensor, dims = _Tensor(), _Tensor()
        for number, wire, value in _fields(r, end, what):
            if number == 1:
                _expect(number, wire, LEN, what)
                tensor = _tensor(r, r.pos + value, what)
            elif number == 3:
                _dim(r, number, wire, value, dims, what)
        tensor.dims, tensor.data = dims.dims, None
    else:
        tensor = _tensor(r, end, what)
    count = math.prod(tensor.dims)
    if count > INT64_MAX or graph.parameters + count > INT64_MAX:
        raise FormatError(f"{what}: shape {tensor.dims} has too many elements")
    graph.parameters += count
    dtype = DATA_TYPES.get(tensor.data_type, f"type {tensor.data_type}")
    if len(graph.dtypes) < MAX_OP_TYPES:
        graph.dtypes.add(dtype)
    graph.external = graph.external or tensor.external
    if tensor.location and len(graph.external_files) < MAX_LIST:
        graph.external_files.add(tensor.location)
    if tensor.data is None and tensor.payloads == 0 and count == 0 and not tensor.external:
        tensor.data = (end, end)  # an empty tensor: an empty range
    if (
        tensor.name in graph.initializer_names
        or tensor.data is None
        or tensor.payloads > 1
        or tensor.data_type not in DATA_TYPES
    ):
        graph.tensors = None  # a manifest only when every initializer has one range, known type
    graph.initializer_names.add(tensor.name)
    if graph.tensors is not None and tensor.data is not None:
        begin, stop = tensor.data
        graph.tensors.append(TensorEntry(tensor.name, dtype, tuple(tensor.dims), begin, stop))


def _tensor(r: HeaderReader, end: int, what: str) -> _Tensor:
    t = _Tensor()
    for number, wire, value in _fields(r, end, what):
        if number == 1:
            _dim(r, number, wire, value, t, what)
        elif number == 2:
            t.data_type = _varint(number, wire, value, what)
        elif number == 8:
            t.name = _text(r, number, wire, value, what)
        elif number in DATA_FIELDS:
            t.payloads += 1
            t.data = (r.pos, r.pos + value) if wire == LEN else None
        elif number == 13:  # external_data: StringStringEntryProto (key=1, value=2)
            _expect(number, wire, LEN, what)
            t.external = True
            key, text = _entry(r, r.pos + value, what)
            if key == "location":
                t.location = text
        elif number == 14:
            t.external = t.external or _varint(number, wire, value, what) == EXTERNAL
    if t.external:
        t.data = None
    return t


def _entry(r: HeaderReader, end: int, what: str) -> tuple[str, str]:
    key, value = "", ""
    for number, wire, length in _fields(r, end, what):
        if number == 1:
            key = _text(r, number, wire, length, what)
        elif number == 2:
            value = _text(r, number, wire, length, what)
    return key, value


def _dim(r: HeaderReader, number: int, wire: int, value: int, t: _Tensor, what: str) -> None:
    """One `dims` field: a single varint, or a packed run of them."""
    if wire == LEN:
        if value > MAX_PACKED_DIMS:
            raise FormatError(f"{what}: {value}-byte packed dims, over {MAX_PACKED_DIMS}")
        stop = r.pos + value
        while r.pos < stop:
            t.dims.append(_signed(r.varint(what)))
        if r.pos != stop:
            raise FormatError(f"{what}: packed dims run past their field")
    else:
        t.dims.append(_signed(_varint(number, wire, value, what)))
    if len(t.dims) > MAX_DIMS:
        raise FormatError(f"{what}: more than {MAX_DIMS} dims")
    if min(t.dims) < 0:
        raise FormatError(f"{what}: negative dim {min(t.dims)}")
