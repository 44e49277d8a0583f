"""The seeds as pictures (issue 14, item 5): the graphs of seeds 000, 001 and 003
drawn on both engines; the DOT and the SVG Graphviz renders from it show the seed's
nodes, ops, data, grads and the local derivative on each edge."""

import re

import pytest

import tapegrad
import _pictures as P

# seed graph -> ({node header: [lines of its label]}, {(parent, child): edge label})
EXPECTED = {
    "seed000_values": (
        {"x (leaf)": ["data 1", "grad -2"], "w (param)": ["data 1", "grad -2"],
         "y (leaf)": ["data 2", "grad 2"], "ŷ": ["op *", "data 1", "grad -2"],
         "s": ["op -", "data -1", "grad -2"], "loss (root)": ["op **2", "data 1", "grad 1"]},
        {("x", "ŷ"): "w = 1", ("w", "ŷ"): "x = 1", ("ŷ", "s"): "1", ("y", "s"): "-1",
         ("s", "loss"): "2s = -2"}),
    "seed000_tensors": (
        {"w (param)": ["shape (1,) float32", "data [1]", "grad [-2]"],
         "y_pred": ["MulBackward0", "data [1]", "grad [-2]"],
         "t2": ["SubBackward0", "data [-1]", "grad [-1]"],
         "l (root)": ["MulBackward0", "data [1]", "grad [1]"]},
        {("w", "y_pred"): "[1]", ("y_pred", "t2"): "[1]", ("y_pred", "t3"): "[1]",
         ("t2", "l"): "[-1]", ("t3", "l"): "[-1]"}),
    "seed001_scalar": (
        {"w (param)": ["shape () float32", "data 1", "grad -2"],
         "y_hat": ["MulBackward0", "data 1", "grad -2"],
         "t2": ["SubBackward0", "data -1", "grad -2"],
         "loss (root)": ["PowBackward0", "data 1", "grad 1"]},
        {("w", "y_hat"): "1", ("y_hat", "t2"): "1", ("t2", "loss"): "-2"}),
    "seed001_vector": (
        {"w (param)": ["shape (3,) float32", "data [1, 1, 2]", "grad [16, 24, 8]"],
         "y_hat": ["DotBackward0", "data 7", "grad 8"],
         "loss (root)": ["PowBackward0", "data 16", "grad 1"]},
        {("w", "y_hat"): "[2, 3, 1]", ("y_hat", "t2"): "1", ("t2", "loss"): "8"}),
    "seed003_poly": (
        {"x (param)": ["data 3", "grad 22"], "t1": ["PowBackward0", "data 9", "grad 3"],
         "y (root)": ["AddBackward0", "data 41", "grad 1"]},
        {("x", "t1"): "6", ("t1", "t2"): "3", ("x", "t3"): "4", ("t4", "y"): "1"}),
    "seed003_chain": (
        {"x (param)": ["data [1, 2, 3]", "grad [6.6667, 9.3333, 12]"],
         "z": ["PowBackward0", "data [25, 49, 81]", "grad [0.3333, 0.3333, 0.3333]"],
         "out (root)": ["MeanBackward0", "shape () float32", "data 51.6667", "grad 1"]},
        {("x", "t1"): "[2, 2, 2]", ("t1", "y"): "[1, 1, 1]", ("y", "z"): "[10, 14, 18]",
         ("z", "out"): "[0.3333, 0.3333, 0.3333]"}),
}

_NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)"', re.M)
_EDGE = re.compile(r'^  (n\d+) -> (n\d+)(?: \[label="((?:[^"\\]|\\.)*)"\])?;', re.M)


def parse_dot(source):
    """({header: label lines}, {(parent name, child name): edge label or None})."""
    lines = {nid: label.split("\\n") for nid, label in _NODE.findall(source)}
    names = {nid: ls[0].split(" (")[0] for nid, ls in lines.items()}
    nodes = {ls[0]: ls[1:] for ls in lines.values()}
    edges = {(names[a], names[b]): label or None for a, b, label in _EDGE.findall(source)}
    return nodes, edges


def _draw(seed, engine):
    root, params, names = getattr(P, seed)(engine)
    return tapegrad.draw(root, params, names)


@pytest.mark.parametrize("seed", sorted(EXPECTED))
def test_dot_shows_the_seed(seed, engine):
    want_nodes, want_edges = EXPECTED[seed]
    nodes, edges = parse_dot(_draw(seed, engine).source)
    for header, lines in want_nodes.items():
        assert header in nodes, (header, sorted(nodes))
        for line in lines:
            assert line in nodes[header], (header, line, nodes[header])
    for (a, b), label in want_edges.items():
        assert edges.get((a, b)) == f"∂{b}/∂{a} = {label}", (a, b, label, edges)
    assert sum(h.endswith("(root)") for h in nodes) == 1


@pytest.mark.parametrize("seed", sorted(EXPECTED))
def test_rendered_svg_shows_the_seed(seed, engine, tmp_path):
    P.require_graphviz()
    want_nodes, want_edges = EXPECTED[seed]
    path = _draw(seed, engine).render(tmp_path / f"{seed}.svg")
    text = P.svg_text(open(path, "rb").read()).split("\n")
    for header, lines in want_nodes.items():
        assert header in text
        for line in lines:
            assert line in text, (line, text)
    for (a, b), label in want_edges.items():
        assert f"∂{b}/∂{a} = {label}" in text, (a, b, label, text)


def test_engines_draw_the_same_pictures(engine):
    from _util import load_engine
    other = load_engine("python" if engine.ENGINE == "c" else "c")
    for seed in EXPECTED:
        assert _draw(seed, engine).source == _draw(seed, other).source, seed
