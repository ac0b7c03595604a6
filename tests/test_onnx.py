"""ONNX models: facts from the protobuf wire format, compared with what the onnx package reads."""

from __future__ import annotations

import io
import json
import math
import random
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
import xxhash
from onnx import TensorProto, helper, numpy_helper

from gitmodel.formats import FormatError, FormatScan, scan_file
from gitmodel.formats import onnx as onnx_reader
from gitmodel.pointer import FactValue, FormatInfo, Pointer, format_pointer, parse_pointer
from tests.helpers import assert_refused_in_small_memory, git, gm, gm_ok, object_path


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def scan_bytes(content: bytes) -> FormatScan:
    return onnx_reader.scan(io.BytesIO(content), len(content))


def tiny_model(opset: int = 17, weight_fill: float = 0.5) -> onnx.ModelProto:
    """Y = X @ W + B, W and B initializers (W also listed as a graph input, as old exporters do)."""
    w = numpy_helper.from_array(np.full((3, 4), weight_fill, dtype=np.float32), "W")
    b = helper.make_tensor("B", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])  # float_data
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["XW"], name="matmul"),
            helper.make_node("Add", ["XW", "B"], ["Y"], name="add"),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("W", TensorProto.FLOAT, [3, 4]),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 4])],
        initializer=[w, b],
        doc_string="a tiny graph",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.example", 1)],
        producer_name="unit-test",
        producer_version="1.2",
    )
    model.ir_version = 9
    return model


def onnx_facts(model: onnx.ModelProto) -> dict[str, FactValue]:
    """The facts, as the onnx package itself reads the model."""
    g = model.graph
    initializers = [*g.initializer, *(s.values for s in g.sparse_initializer)]
    names = {t.name for t in initializers}
    dims = [*(t.dims for t in g.initializer), *(s.dims for s in g.sparse_initializer)]
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    facts: dict[str, FactValue] = {
        "ir_version": model.ir_version,
        "opset": opsets["ai.onnx"],
        "opsets": sorted(f"{d}:{v}" for d, v in opsets.items()),
        "producer": f"{model.producer_name} {model.producer_version}",
        "graph": g.name,
        "inputs": [i.name for i in g.input if i.name not in names],
        "outputs": [o.name for o in g.output],
        "nodes": len(g.node),
        "op_types": sorted({n.op_type for n in g.node}),
        "initializers": len(initializers),
        "parameters": sum(math.prod(d) for d in dims),
        "dtypes": sorted({TensorProto.DataType.Name(t.data_type) for t in initializers}),
    }
    return facts


# --- facts ------------------------------------------------------------------------------------


def test_facts_match_the_onnx_package(tmp_path: Path) -> None:
    model = tiny_model()
    onnx.checker.check_model(model)
    path = tmp_path / "tiny.onnx"
    onnx.save(model, path)
    scan = scan_file(path)
    assert scan is not None
    assert scan.name == "onnx"
    loaded = onnx.load(path)
    assert scan.facts == onnx_facts(loaded)
    assert scan.facts == {
        "ir_version": 9,
        "opset": 17,
        "opsets": ["ai.onnx:17", "com.example:1"],
        "producer": "unit-test 1.2",
        "graph": "tiny",
        "inputs": ["X"],
        "outputs": ["Y"],
        "nodes": 2,
        "op_types": ["Add", "MatMul"],
        "initializers": 2,
        "parameters": 16,
        "dtypes": ["FLOAT"],
    }


def test_tensor_ranges_hold_exactly_each_initializers_data(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    onnx.save(tiny_model(), path)
    content = path.read_bytes()
    scan = scan_file(path)
    assert scan is not None
    by_name = {t.name: t for t in scan.tensors}
    assert [(t.name, t.dtype, t.shape) for t in scan.tensors] == [
        ("W", "FLOAT", (3, 4)),
        ("B", "FLOAT", (4,)),
    ]
    w, b = by_name["W"], by_name["B"]
    assert content[w.begin : w.end] == np.full((3, 4), 0.5, dtype=np.float32).tobytes()
    assert content[b.begin : b.end] == struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)  # packed float_data
    assert w.end <= b.begin


def test_model_fields_sparse_initializers_and_subgraphs(tmp_path: Path) -> None:
    then = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["T"])],
        "then",
        [],
        [helper.make_tensor_value_info("T", TensorProto.FLOAT, [2])],
    )
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("S", TensorProto.INT64, [2], [5, 7]),
        helper.make_tensor("S_idx", TensorProto.INT64, [2], [1, 3]),
        [10, 10],
    )
    graph = helper.make_graph(
        [
            helper.make_node("If", ["C"], ["Y"], then_branch=then, else_branch=then),
            helper.make_node("Constant", [], ["K"], value_float=1.5),
        ],
        "branchy",
        [
            helper.make_tensor_value_info("C", TensorProto.BOOL, []),
            helper.make_tensor_value_info("S", TensorProto.INT64, [10, 10]),
        ],
        [helper.make_tensor_value_info(f"out{i}", TensorProto.FLOAT, [2]) for i in range(20)],
        initializer=[helper.make_tensor("scalar", TensorProto.DOUBLE, [], [2.0])],
        sparse_initializer=[sparse],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("ai.onnx", 18)])
    model.domain, model.model_version = "org.example", 3
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    scan = scan_file(path)
    assert scan is not None
    expected = onnx_facts(onnx.load(path))
    del expected["opsets"]  # one opset: no list
    del expected["producer"]  # none given
    expected["outputs"] = [f"out{i}" for i in range(16)]  # lists stop at 16
    expected |= {"domain": "org.example", "model_version": 3}
    assert scan.facts == expected
    assert scan.facts["nodes"] == 2 and scan.facts["op_types"] == ["Constant", "If"]
    assert scan.facts["inputs"] == ["C"] and scan.facts["parameters"] == 1 + 100
    assert scan.facts["dtypes"] == ["DOUBLE", "INT64"]
    assert list(scan.tensors) == []  # a sparse initializer has no single range


def test_external_data_is_noted_and_not_followed(tmp_path: Path) -> None:
    path = tmp_path / "ext.onnx"
    onnx.save_model(
        tiny_model(), path, save_as_external_data=True, location="ext.data", size_threshold=0
    )
    assert (tmp_path / "ext.data").exists()
    scan = scan_file(path)
    assert scan is not None
    expected = onnx_facts(onnx.load(path, load_external_data=False))
    assert scan.facts == {**expected, "external_data": True}
    assert list(scan.tensors) == []
    (tmp_path / "ext.data").unlink()  # never read
    assert scan_file(path) == scan


def test_detected_by_suffix_only(tmp_path: Path) -> None:
    content = tiny_model().SerializeToString()
    (tmp_path / "model.bin").write_bytes(content)
    (tmp_path / "model.onnx").write_bytes(content)
    assert scan_file(tmp_path / "model.bin") is None
    found = scan_file(tmp_path / "model.onnx")
    assert found is not None and found.facts["graph"] == "tiny"


# --- a hand-written wire format: packed dims, hostile lengths -----------------------------------


def varint(n: int) -> bytes:
    n &= 2**64 - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([*out, n])


def num(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def msg(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def model_with(initializer: bytes) -> bytes:
    return num(1, 9) + msg(7, msg(5, initializer))


def test_packed_dims_and_fixed_width_fields() -> None:
    tensor = msg(1, varint(2) + varint(300)) + num(2, 1) + msg(8, b"w") + msg(9, bytes(2400))
    content = num(1, 9) + varint(6 << 3 | 1) + bytes(8) + varint(6 << 3 | 5) + bytes(4)
    content += msg(7, msg(5, tensor))
    scan = scan_bytes(content)
    assert scan.facts["parameters"] == 600
    assert [(t.name, t.shape, t.end - t.begin) for t in scan.tensors] == [("w", (2, 300), 2400)]


def test_parsed_by_onnx_too() -> None:
    tensor = msg(1, varint(2) + varint(3)) + num(2, 10) + msg(8, b"h") + msg(9, bytes(12))
    content = model_with(tensor)
    parsed = onnx.ModelProto.FromString(content)
    assert list(parsed.graph.initializer[0].dims) == [2, 3]
    assert scan_bytes(content).facts["dtypes"] == ["FLOAT16"]


HOSTILE: list[tuple[bytes, str]] = [
    (b"", "not an ONNX model: it has no ir_version"),
    (b"hello world\n", "model: field 13 has wire type 4, not supported"),
    (b"\x00\x01", "model: field number 0 is not valid protobuf"),
    (b"\x08", "model runs past the end of the file"),
    (num(1, 9) + b"\xff" * 11, "model: varint longer than 10 bytes"),
    (num(1, 9) + b"\x08" + b"\xff" * 9 + b"\x7f", "model: varint does not fit 64 bits"),
    (num(1, 9) + varint(6 << 3 | 1) + bytes(3), "model runs past the end of the file"),
    (
        num(1, 9) + varint(7 << 3 | 2) + varint(2**62),
        "model: field 7 runs past the end of its message",
    ),
    (msg(1, b"8"), "model: field 1 has wire type 2, expected 0"),
    (num(1, 9) + msg(2, b"p" * 70000), "model: field 2 is a 70000-byte string, over 65536"),
    (num(1, 9) + num(7, 3), "model: field 7 has wire type 0, expected 2"),
    (
        num(1, 9) + msg(7, varint(1 << 3 | 2) + varint(50) + bytes(10)),
        "graph: field 1 runs past the end of its message",
    ),
    (num(1, 9) + msg(7, msg(1, num(4, 1))), "node 1: field 4 has wire type 0, expected 2"),
    (
        model_with(msg(1, b"\x01" * 2000)),
        "initializer 1: 2000-byte packed dims, over 1024",
    ),
    (model_with(msg(1, b"\x80") + num(2, 1)), "initializer 1: packed dims run past their field"),
    (model_with(num(1, -1)), "initializer 1: negative dim -1"),
    (model_with(b"".join(num(1, 1) for _ in range(65))), "initializer 1: more than 64 dims"),
    (
        model_with(num(1, 2**40) + num(1, 2**40)),
        f"initializer 1: shape [{2**40}, {2**40}] has too many elements",
    ),
    (model_with(msg(9, b"x")[:-1]), "initializer 1: field 9 runs past the end of its message"),
]


@pytest.mark.parametrize(("content", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_files_raise_format_error_without_big_allocations(
    content: bytes, message: str
) -> None:
    assert_refused_in_small_memory(lambda: scan_bytes(content), message)


def test_truncations_and_corruption_never_escape_as_another_error() -> None:
    content = tiny_model().SerializeToString()
    refused = 0
    for n in range(len(content)):
        try:
            scan_bytes(content[:n])
        except FormatError:
            refused += 1
    assert refused > len(content) // 2
    rng = random.Random(11)
    outcomes = {"scanned": 0, "refused": 0}
    for _ in range(500):
        mutated = bytearray(content)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(content))] = rng.randrange(256)
        try:
            scan_bytes(bytes(mutated))
            outcomes["scanned"] += 1
        except FormatError:
            outcomes["refused"] += 1
    assert min(outcomes.values()) > 50


def test_long_lists_are_truncated() -> None:
    many: Sequence[onnx.ValueInfoProto] = [
        helper.make_tensor_value_info(f"in{i:02}", TensorProto.FLOAT, [1]) for i in range(40)
    ]
    nodes = [helper.make_node(f"Op{i:03}", [], [f"o{i}"], domain="x") for i in range(100)]
    graph = helper.make_graph(nodes, "g", many, [], initializer=[])
    facts = scan_bytes(helper.make_model(graph).SerializeToString()).facts
    assert facts["inputs"] == [f"in{i:02}" for i in range(16)]
    assert facts["op_types"] == [f"Op{i:03}" for i in range(64)]
    assert facts["nodes"] == 100


# --- end to end -------------------------------------------------------------------------------


def format_section(pointer_text: str) -> str:
    start = pointer_text.index("[format]")
    return pointer_text[start : pointer_text.index("\n\n", start) + 1]


def test_add_writes_facts_and_diff_shows_the_opset_change(repo: Path) -> None:
    content = tiny_model(opset=17).SerializeToString()
    (repo / "model.onnx").write_bytes(content)
    gm_ok(repo, "add", "model.onnx")
    text = (repo / "model.onnx.gitmodel").read_text()
    pointer = parse_pointer(text.encode())
    assert pointer.format is not None
    manifest = pointer.format.facts["manifest"]
    assert isinstance(manifest, str)
    assert format_section(text) == (
        "[format]\n"
        'name = "onnx"\n'
        'dtypes = ["FLOAT"]\n'
        'graph = "tiny"\n'
        "initializers = 2\n"
        'inputs = ["X"]\n'
        "ir_version = 9\n"
        f'manifest = "{manifest}"\n'
        "nodes = 2\n"
        'op_types = ["Add", "MatMul"]\n'
        "opset = 17\n"
        'opsets = ["ai.onnx:17", "com.example:1"]\n'
        'outputs = ["Y"]\n'
        "parameters = 16\n"
        'producer = "unit-test 1.2"\n'
    )
    doc = json.loads(object_path(repo, manifest).read_bytes())
    assert doc["format"] == "onnx"
    assert [(t["name"], t["dtype"], t["shape"]) for t in doc["tensors"]] == [
        ("B", "FLOAT", [4]),
        ("W", "FLOAT", [3, 4]),
    ]
    for t in doc["tensors"]:
        assert t["oid"] == xxh(content[t["begin"] : t["end"]])
    git(repo, "add", "model.onnx.gitmodel", ".gitignore")
    git(repo, "commit", "-q", "-m", "opset 17")

    (repo / "model.onnx").write_bytes(tiny_model(opset=18, weight_fill=0.25).SerializeToString())
    gm_ok(repo, "add", "model.onnx")
    out = gm_ok(repo, "diff").splitlines()
    assert (
        "  format:   opset 17 -> 18, opsets ai.onnx:17,com.example:1 -> ai.onnx:18,com.example:1"
    ) in out
    assert "  tensors:  1 of 2 tensors changed: W" in out


def test_add_warns_on_a_file_that_is_not_onnx(repo: Path) -> None:
    (repo / "bad.onnx").write_bytes(b"hello world\n")
    proc = gm(repo, "add", "bad.onnx")
    assert proc.returncode == 0
    assert proc.stderr == (
        "warning: bad.onnx: not read as onnx: model: field 13 has wire type 4, not supported\n"
    )
    pointer = parse_pointer((repo / "bad.onnx.gitmodel").read_bytes())
    assert pointer.format is None
    assert pointer.oid == xxh(b"hello world\n")


def test_hostile_names_cannot_blow_the_pointer_cap() -> None:
    ugly = "\x01" * 1000  # each such character is written as 6 bytes: \u0001
    graph = helper.make_graph(
        [helper.make_node(f"{ugly}{i}", [], [f"o{i}"], domain="x") for i in range(100)],
        ugly,
        [helper.make_tensor_value_info(f"{ugly}{i}", TensorProto.FLOAT, [1]) for i in range(40)],
        [helper.make_tensor_value_info(f"{ugly}{i}", TensorProto.FLOAT, [1]) for i in range(40)],
    )
    opsets = [helper.make_opsetid(f"{ugly}{i}", 1) for i in range(40)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name=ugly, domain=ugly)
    facts = scan_bytes(model.SerializeToString()).facts
    pointer = Pointer("m", "m.onnx", "xxh128:" + "0" * 32, 1, "file", FormatInfo("onnx", facts))
    assert len(format_pointer(pointer)) < 24 * 1024
    for key in ("inputs", "outputs", "op_types", "opsets"):
        items = facts[key]
        assert isinstance(items, list) and 1 <= len(items) <= 3
        assert all(item == "\x01" * 256 for item in items)
    assert facts["producer"] == facts["graph"] == facts["domain"] == "\x01" * 256
