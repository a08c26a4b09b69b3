"""graph.to_html: the page's embedded data against the real engine, and the page in a browser."""

import html
import inspect
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from browser import Browser, find_chromium

import minigrad
import minigrad.nn.functional as F
from minigrad import data, nn, optim
from minigrad.autograd import Function
from minigrad.graph import topological_order


def page_data(page):
    """The JSON the page embeds, parsed back."""
    match = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', page,
                      re.S)
    return json.loads(match.group(1))


def node_ids(loss):
    """Each tensor's node id on the page: its position in the topological order, constants too."""
    return {tensor: i for i, tensor in enumerate(topological_order(loss, constants=True))}


def exact(record, dtype):
    """The full values of a value record, as an array of ``dtype``."""
    return np.array([float(v) for v in record["full"]], dtype=dtype)


def neuron_with_reuse(rng):
    """A small float64 graph where ``a`` is used three times and a bias is broadcast."""
    w = minigrad.tensor(rng.standard_normal((3, 2)), requires_grad=True, dtype=np.float64)
    b = minigrad.tensor(rng.standard_normal(2), requires_grad=True, dtype=np.float64)
    x = minigrad.tensor(rng.standard_normal((4, 3)), dtype=np.float64)
    a = x @ w + b
    loss = (a * a + a.tanh()).sum() * 0.5
    return loss, {"w": w, "b": b, "x": x, "a": a}


def mlp_step(batch=32, hidden=64):
    """The README's spirals MLP and the loss of one training batch."""
    minigrad.manual_seed(0)
    X, y = data.spirals(1500, classes=3, noise=0.02, seed=0)
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                          nn.Linear(hidden, 3))
    return model, F.cross_entropy(model(minigrad.tensor(X[:batch])), y[:batch])


class UnrolledRNN(nn.Module):
    """An RNNCell looped over time, then a Linear read-out: a graph with repeated structure."""

    def __init__(self):
        super().__init__()
        self.cell = nn.RNNCell(3, 5)
        self.fc = nn.Linear(5, 2)

    def forward(self, xs):
        h = None
        for x in xs:
            h = self.cell(x, h)
        return self.fc(h)


def rnn_loss(steps, batch=4):
    model = UnrolledRNN()
    xs = [minigrad.randn(batch, 3) for _ in range(steps)]
    return model, F.cross_entropy(model(xs), np.arange(batch) % 2)


def backward_keeping_graph(loss):
    """``loss.backward()``, keeping the graph alive where the engine would free it."""
    if "retain_graph" in inspect.signature(loss.backward).parameters:
        loss.backward(retain_graph=True)
    else:
        loss.backward()


def engine_order(loss, monkeypatch):
    """The tensors whose grad_fn the engine calls, in order, seen through the classes' methods."""
    tensors = topological_order(loss)
    owner = {id(t.grad_fn): t for t in tensors if t.grad_fn is not None}
    calls = []
    for cls in {type(t.grad_fn) for t in tensors if t.grad_fn is not None}:
        def logged(self, *args, _original=cls.backward, **kwargs):
            calls.append(owner[id(self)])
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(cls, "backward", logged)
    loss.backward()
    monkeypatch.undo()
    return calls


# ------------------------------------------------------------------------ the embedded data
def test_nodes_and_edges_are_the_graph(rng):
    loss, t = neuron_with_reuse(rng)
    payload = page_data(minigrad.graph.to_html(loss, names={t["w"]: "w", t["b"]: "b"}))
    order = topological_order(loss, constants=True)
    index = {tensor: i for i, tensor in enumerate(order)}
    assert len(payload["nodes"]) == len(order)
    assert payload["root"] == index[loss]
    for node, tensor in zip(payload["nodes"], order):
        fn = tensor.grad_fn
        assert node["op"] == (fn.name if fn else "leaf" if tensor.requires_grad else "constant")
        assert node["inputs"] == ([index[i] for i in fn.inputs] if fn else [])
        assert tuple(node["shape"]) == tensor.shape and node["dtype"] == "float64"
        np.testing.assert_array_equal(exact(node["value"], np.float64), tensor.data.ravel())
    assert payload["nodes"][index[t["w"]]]["name"] == "w"
    assert payload["nodes"][index[t["x"]]]["op"] == "constant"


def test_steps_follow_the_engines_order_and_show_its_gradients(rng, monkeypatch):
    loss, t = neuron_with_reuse(rng)
    payload = page_data(minigrad.graph.to_html(loss))
    order = topological_order(loss, constants=True)
    for tensor in order:
        if tensor.grad_fn is not None:
            tensor.retain_grad()
    processed = engine_order(loss, monkeypatch)  # the real backward, watched another way

    ids = node_ids(loss)
    assert [s["node"] for s in payload["steps"]] == [ids[p] for p in processed]
    done = set()
    for step in payload["steps"]:  # reversed topological: a node after every node using it
        users = [n["id"] for n in payload["nodes"] if step["node"] in n["inputs"]]
        assert all(u in done for u in users if payload["nodes"][u].get("step") is not None)
        done.add(step["node"])
    for node, tensor in zip(payload["nodes"], order):
        if tensor.requires_grad:  # exactly the engine's numbers, leaves and intermediates
            np.testing.assert_array_equal(exact(node["grad"], np.float64), tensor.grad.ravel())
        else:
            assert "grad" not in node


def test_a_tensor_used_three_times_receives_three_gradients_that_sum_to_its_own(rng):
    loss, t = neuron_with_reuse(rng)
    payload = page_data(minigrad.graph.to_html(loss))
    ids = node_ids(loss)
    a = ids[t["a"]]
    sent = [e for s in payload["steps"] for e in s["sent"] if e["to"] == a]
    assert [(e["nth"], e["of"]) for e in sent] == [(1, 3), (2, 3), (3, 3)]
    assert "total" in sent[1]  # the running total shown after the second one
    np.testing.assert_allclose(exact(sent[0]["grad"], np.float64) + exact(sent[1]["grad"],
                               np.float64), exact(sent[1]["total"], np.float64), rtol=1e-15)
    total = sum(exact(e["grad"], np.float64) for e in sent)
    loss.backward()
    np.testing.assert_allclose(total, exact(payload["nodes"][a]["grad"], np.float64), rtol=1e-12)
    (bias_entry,) = [e for s in payload["steps"] for e in s["sent"]
                     if e["to"] == ids[t["b"]]]
    assert bias_entry["broadcast_from"] == [4, 2]  # summed back to b's shape (2,)


def test_recording_leaves_every_gradient_as_it_was(rng):
    loss, t = neuron_with_reuse(rng)
    minigrad.graph.to_html(loss)
    assert t["w"].grad is None and t["b"].grad is None
    backward_keeping_graph(loss)
    before = t["w"].grad.copy()
    grad_object = t["w"].grad
    minigrad.graph.to_html(loss)
    assert t["w"].grad is grad_object
    np.testing.assert_array_equal(t["w"].grad, before)


def test_recording_does_not_write_into_an_optimizers_gradient_buffer():
    model, loss = mlp_step()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loss.backward()
    optimizer.step()  # the gradients the user holds must come through recording unchanged
    held = [(p.grad, p.grad.copy()) for p in model.parameters()]
    loss = F.cross_entropy(model(minigrad.randn(8, 2)), np.zeros(8, dtype=np.int64))
    minigrad.graph.to_html(loss, module=model)
    for p, (array, values) in zip(model.parameters(), held):
        assert p.grad is array
        np.testing.assert_array_equal(array, values)


def test_a_graph_freed_by_backward_gives_a_clear_error(rng):
    loss, t = neuron_with_reuse(rng)
    loss.backward()
    grad = t["w"].grad.copy()
    with pytest.raises(RuntimeError, match="graph was freed.*before backward, or backward"):
        minigrad.graph.to_html(loss)
    np.testing.assert_array_equal(t["w"].grad, grad)


def test_each_operation_shows_its_rule_and_an_unknown_one_its_docstring(rng):
    class Cube(Function):
        """x^3, a new operation the viewer has no rule for.

        More text that is not shown.
        """

        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, *args, out=None):  # backward(grad), or backward(xp, grad, x, out)
            grad = args[0] if len(args) == 1 else args[1]
            return (3 * grad * self.x**2,)

    x = minigrad.tensor([0.5, 2.0], requires_grad=True)
    nodes = page_data(minigrad.graph.to_html(Cube.apply(x.tanh()).sum()))["nodes"]
    rules = {n["op"]: n["rule"] for n in nodes if "rule" in n}
    assert rules["Tanh"].startswith("d tanh(a)/da = 1 - tanh(a)^2")
    assert rules["Cube"] == "x^3, a new operation the viewer has no rule for."
    assert rules["Sum"].startswith("d sum(a)/da_i = 1")


def test_large_arrays_are_summarised_and_small_ones_given_in_full():
    x = minigrad.tensor(np.linspace(-1, 1, 1000), requires_grad=True, dtype=np.float64)
    nodes = page_data(minigrad.graph.to_html((x * 2).sum()))["nodes"]
    big, small = nodes[0]["value"], nodes[-1]["value"]
    assert "full" not in big and big["size"] == 1000
    assert big["stats"][:3] == [-1.0, 1.0, 0.0] and sum(big["hist"]) == 1000
    assert small["size"] == 1 and "full" in small and "hist" not in small


def test_non_finite_values_are_embedded_as_valid_json():
    x = minigrad.tensor([1.0, 0.0, -1.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        page = minigrad.graph.to_html(x.log().sum())
    node = page_data(page)["nodes"][1]
    assert node["value"]["full"][1:] == ["-inf", "nan"]
    assert "NaN" not in page and "Infinity" not in page  # JSON.parse would reject those


# --------------------------------------------------------------------------------- modules
def test_a_modules_parameters_are_labelled_and_its_layers_grouped():
    model, loss = mlp_step()
    payload = page_data(minigrad.graph.to_html(loss, module=model))
    names = {n["name"] for n in payload["nodes"] if n["name"]}
    assert names == {f"{i}.{k}" for i in (0, 2, 4) for k in ("weight", "bias")}
    assert {g["id"] for g in payload["groups"]} == {"0", "2", "4"}
    by_group = {}
    for n in payload["nodes"]:
        by_group.setdefault(n.get("group"), []).append(n["op"])
    assert sorted(by_group["2"]) == ["Linear", "leaf", "leaf"]
    assert sorted(by_group[None]) == ["CrossEntropy", "ReLU", "ReLU"]


def test_an_unrolled_rnn_cell_is_grouped_by_time_step():
    steps = 6
    model, loss = rnn_loss(steps)
    payload = page_data(minigrad.graph.to_html(loss, module=model))
    groups = {g["id"]: g for g in payload["groups"]}
    assert {f"cell#{t}" for t in range(1, steps + 1)} <= set(groups)
    assert all(groups[f"cell#{t}"]["parent"] == "cell" for t in range(1, steps + 1))
    ops = {}
    for n in payload["nodes"]:
        ops.setdefault(n.get("group"), []).append(n["op"])
    for t in range(2, steps + 1):  # every step the same operations (step 1 adds the zero state)
        assert sorted(ops[f"cell#{t}"]) == sorted(ops["cell#2"])
    assert sorted(ops["cell#2"]) == sorted(["Transpose", "MatMul", "Add"] * 2 + ["Add", "Tanh",
                                           "constant"])
    assert sorted(ops["cell"]) == ["leaf"] * 4
    assert ops[None] == ["CrossEntropy"]


# ------------------------------------------------------------------------------- the page
def test_the_page_is_self_contained(rng):
    loss, _ = neuron_with_reuse(rng)
    page = minigrad.graph.to_html(loss)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", page)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert "<script>" in page and "<style>" in page and "<svg" in page


def test_to_html_writes_the_file_and_render_html_too(rng, tmp_path):
    loss, _ = neuron_with_reuse(rng)
    page = minigrad.graph.to_html(loss, tmp_path / "a.html")
    assert (tmp_path / "a.html").read_text(encoding="utf-8") == page
    assert minigrad.graph.render(loss, tmp_path / "b.html", format="html") == str(
        tmp_path / "b.html")
    assert page_data((tmp_path / "b.html").read_text()) == page_data(page)


def test_graph_shows_inline_in_jupyter_as_an_isolated_frame(rng):
    loss, _ = neuron_with_reuse(rng)
    graph = minigrad.graph.Graph(loss)
    frame = graph._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and "allow-scripts" in frame
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)) == graph.to_html()


def test_names_in_labels_cannot_break_the_page():
    x = minigrad.tensor([1.0], requires_grad=True)
    page = minigrad.graph.to_html((x * 2).sum(), names={x: "</script><b>__DATA__"})
    assert page.count("</script>") == 2  # the data block's and the script's own
    assert page_data(page)["nodes"][0]["name"] == "</script><b>__DATA__"


# ------------------------------------------------------------------------------ bad input
def test_bad_input_gives_a_clear_error():
    with pytest.raises(TypeError, match="expected a minigrad Tensor, got list"):
        minigrad.graph.to_html([1.0, 2.0])
    with pytest.raises(ValueError, match="no graph to show.*leaf"):
        minigrad.graph.to_html(minigrad.tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="no graph to show.*no_grad"):
        minigrad.graph.to_html(minigrad.tensor([1.0]) * 2)
    x = minigrad.tensor([1.0], requires_grad=True)
    with minigrad.no_grad():
        y = x * 2
    with pytest.raises(ValueError, match="no graph to show"):
        minigrad.graph.to_html(y)
    with pytest.raises(TypeError, match="names must be a dict"):
        minigrad.graph.to_html(x * 2, names=["x"])
    with pytest.raises(TypeError, match="names must map tensors to labels.*str \\('x'\\)"):
        minigrad.graph.to_html(x * 2, names={"x": x})
    with pytest.raises(TypeError, match="module must be a minigrad.nn.Module, got str"):
        minigrad.graph.to_html(x * 2, module="model")
    with pytest.raises(ValueError, match="gradient has shape"):
        minigrad.graph.to_html(x * 2, gradient=np.ones(3))


# ------------------------------------------------------------------------------------ size
def test_an_mlp_training_steps_page_stays_under_2_mb():
    model, loss = mlp_step(batch=256, hidden=256)
    assert len(minigrad.graph.to_html(loss, module=model).encode()) < 2_000_000
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    loss = F.cross_entropy(model(minigrad.randn(128, 784)), np.arange(128) % 10)
    assert len(minigrad.graph.to_html(loss, module=model).encode()) < 2_000_000


# -------------------------------------------------------------------------------- the tour
@pytest.fixture(scope="module")
def tour_page(tmp_path_factory):
    """The page ``examples/autograd_tour.py --html`` writes."""
    folder = tmp_path_factory.mktemp("tour")
    script = Path(__file__).parent.parent / "examples" / "autograd_tour.py"
    subprocess.run([sys.executable, str(script), "--dot", str(folder / "tour.dot"), "--html",
                    str(folder / "tour.html")], check=True, capture_output=True, timeout=300)
    return folder / "tour.html"


def test_the_tour_writes_the_page_of_its_neuron(tour_page):
    payload = page_data(tour_page.read_text(encoding="utf-8"))
    names = {n["name"]: n for n in payload["nodes"] if n["name"]}
    assert {"w", "b", "x", "L", "y"} <= set(names)
    assert names["L"]["id"] == payload["root"] and names["y"]["op"] == "Tanh"
    assert [payload["nodes"][s["node"]]["name"] for s in payload["steps"]] == [
        "L", "y-target", "y", "z", None, "w*x"]  # L back to w: the order the tour prints


# ------------------------------------------------------------------------- in a real browser
@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        message = ("the browser test needs Chromium: apt-get install -y chromium (Debian/Ubuntu); "
                   ".ci/run installs it")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with Browser(executable) as running:
        yield running


def png_size(path):
    with open(path, "rb") as file:
        head = file.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_the_page_steps_through_backward_in_a_browser(browser, tmp_path):
    model, loss = mlp_step()
    path = tmp_path / "mlp.html"
    payload = page_data(minigrad.graph.to_html(loss, path, module=model))
    steps = payload["steps"]
    started = time.monotonic()
    browser.open(path.as_uri())
    state = browser.evaluate("window.minigradViewer.state()")
    assert state["step"] == 0 and state["stepCount"] == len(steps)
    assert state["drawnUnits"] == len(payload["nodes"])  # a small graph opens every group
    assert state["panelTitle"] == "Before backward"
    for number, step in enumerate(steps, start=1):
        browser.press("ArrowRight", key_code=39)
        state = browser.evaluate("window.minigradViewer.state()")
        node = payload["nodes"][step["node"]]
        assert state["step"] == number and state["currentNode"] == step["node"]
        assert state["currentUnits"] == 1
        assert state["panelTitle"].startswith(f"Step {number}: t{node['id']} = {node['op']}(")
        assert node["rule"] in state["panelText"]
        assert browser.evaluate("document.body.dataset.step") == str(number)
    browser.press("ArrowRight", key_code=39)  # past the end: stays on the last step
    assert browser.evaluate("window.minigradViewer.state().step") == len(steps)
    browser.press("ArrowLeft", key_code=37)
    assert browser.evaluate("window.minigradViewer.state().step") == len(steps) - 1
    browser.press("Home", key_code=36)
    assert browser.evaluate("window.minigradViewer.state().step") == 0
    browser.press("End", key_code=35)
    assert browser.evaluate("window.minigradViewer.state().step") == len(steps)
    # Clicking a node shows its values: click the first weight's box where it is drawn.
    x, y = browser.evaluate("""(() => {
        const box = [...document.querySelectorAll('.node')].find(
            (g) => g.textContent.includes('0.weight')).getBoundingClientRect();
        return [box.x + box.width / 2, box.y + box.height / 2]; })()""")
    browser.click(x, y)
    text = browser.evaluate("window.minigradViewer.state().panelText")
    assert "Selected: 0.weight" in text and "Gradient" in text
    shot = tmp_path / "viewer.png"
    browser.screenshot(shot)
    assert png_size(shot) == (1400, 900) and shot.stat().st_size > 20_000
    assert browser.errors() == []
    assert browser.requested_urls() == [path.as_uri()]  # nothing fetched from anywhere else
    assert time.monotonic() - started < 60


def test_a_long_rnn_opens_folded_and_unfolds_in_a_browser(browser, tmp_path):
    model, loss = rnn_loss(40)
    path = tmp_path / "rnn.html"
    payload = page_data(minigrad.graph.to_html(loss, path, module=model))
    browser.open(path.as_uri())
    state = browser.evaluate("window.minigradViewer.state()")
    assert state["drawnUnits"] < 60 < len(payload["nodes"])  # the time steps are folded
    for _ in range(5):
        browser.press("ArrowRight", key_code=39)
    state = browser.evaluate("window.minigradViewer.state()")
    assert state["currentNode"] == payload["steps"][4]["node"] and state["currentUnits"] == 1
    browser.evaluate("window.minigradViewer.expandAll()")
    state = browser.evaluate("window.minigradViewer.state()")
    assert state["drawnUnits"] == len(payload["nodes"]) and state["currentUnits"] == 1
    assert browser.errors() == []


def test_every_gradient_of_the_tour_arrives_on_screen(browser, tour_page):
    browser.open(tour_page.as_uri())
    pending = "[...document.querySelectorAll('.node text.nograd')].map((t) => t.textContent)"
    assert browser.evaluate(pending).count("grad: not yet") == 7  # all but L, before backward
    steps = browser.evaluate("window.minigradViewer.state().stepCount")
    for _ in range(steps):
        browser.press("ArrowRight", key_code=39)
    assert browser.evaluate(pending) == ["no gradient"] * 2  # only x and the target remain
    assert "Sent to its inputs" in browser.evaluate("window.minigradViewer.state().panelText")
    assert browser.errors() == []
