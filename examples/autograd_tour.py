"""A tour of reverse-mode autograd on one neuron: build, inspect, differentiate, check.

    python examples/autograd_tour.py                  # writes autograd_tour.dot
    dot -Tpng autograd_tour.dot -o graph.png          # draw it, if Graphviz is installed
    python examples/autograd_tour.py --html tour.html # open it in a browser, press the right arrow

The expression is a single tanh neuron and its squared error,

    z = sum(w * x) + b,    y = tanh(z),    L = (y - target)^2

Each line of it records one node of the graph (the ``grad_fn`` of its result). ``backward()``
then walks the graph from L back to the leaves, multiplying local derivatives (the chain rule):

    dL/dy = 2 (y - target),   dL/dz = dL/dy * (1 - y^2),   dL/dw = dL/dz * x,   dL/db = dL/dz

The script prints the graph, every node's gradient next to that formula worked out by hand, and
checks dL/dw[0] by central finite differences: (L(w0 + h) - L(w0 - h)) / 2h. Last, it compiles a
training step of the neuron (minigrad.compile) and prints the program it recorded: the forward
operations, the backward pass written out as operations too, and the optimizer's step.
"""

import argparse

import cli
import numpy as np

import minigrad
from minigrad import graph
from minigrad.gradcheck import central_difference


def build(w, b, x, target):
    """The neuron and its loss; returns every intermediate tensor, by name."""
    product = w * x
    z = product.sum() + b
    y = z.tanh()
    error = y - target
    loss = error**2
    return {"w*x": product, "z": z, "y": y, "y-target": error, "L": loss}


def parse_args(argv=None):
    # Nothing is trained here, so none of the training flags apply.
    parser = cli.Parser(description=__doc__.splitlines()[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seed", type=cli.non_negative_int, default=0,
                        help="seed for the starting weights w")
    parser.add_argument("--dot", metavar="FILE", default="autograd_tour.dot",
                        help="where to write the graph in Graphviz DOT format")
    parser.add_argument("--html", metavar="FILE",
                        help="also write the graph as a web page that steps through backward")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    # float64 so that the finite difference agrees to many digits.
    w = minigrad.tensor(rng.uniform(-1, 1, 3), requires_grad=True, dtype=np.float64)
    b = minigrad.tensor(0.1, requires_grad=True, dtype=np.float64)
    x = minigrad.tensor([0.5, -1.5, 2.0], dtype=np.float64)  # an input: needs no gradient
    target = 0.8

    nodes = build(w, b, x, target)
    for tensor in nodes.values():
        tensor.retain_grad()  # keep the intermediate gradients too, to print them
    loss = nodes["L"]
    print(f"L = (tanh(sum(w * x) + b) - {target})^2 = {loss.item():.6f}\n")
    print("The graph, inputs first (t0... are the tensors that need a gradient):")
    print(graph.describe(loss))

    names = {tensor: name for name, tensor in [("w", w), ("b", b), ("x", x), *nodes.items()]}
    page = graph.Graph(loss, names) if args.html else None  # made before backward frees the graph
    loss.backward()
    y = nodes["y"].item()
    by_hand = {"L": 1.0, "y-target": 2 * (y - target), "y": 2 * (y - target)}
    by_hand["z"] = by_hand["y"] * (1 - y * y)
    by_hand["w*x"] = by_hand["z"] * np.ones(3)
    by_hand["w"], by_hand["b"] = by_hand["z"] * x.data, by_hand["z"]
    print("\nGradients dL/d(node) after backward(), and the chain rule worked out by hand:")
    for name, tensor in [("w", w), ("b", b), *nodes.items()]:
        grad = np.round(tensor.grad, 6).tolist()
        ok = "ok" if np.allclose(tensor.grad, by_hand[name], rtol=1e-12, atol=1e-12) else "DIFFERS"
        print(f"  {name:>9}: {str(grad):<40} by hand {np.round(by_hand[name], 6).tolist()}  {ok}")

    def loss_value():
        with minigrad.no_grad():
            return build(w, b, x, target)["L"].item()

    numeric = central_difference(loss_value, w.data, 0)
    error = abs(numeric - w.grad[0])
    print(f"\nFinite differences: dL/dw[0] = {numeric:.10f}, backward gave {w.grad[0]:.10f} "
          f"(difference {error:.1e})")
    minigrad.gradcheck(lambda w_, b_: build(w_, b_, x, target)["L"], w, b)
    print("minigrad.gradcheck agrees for every element of w and b")

    with open(args.dot, "w") as file:
        file.write(graph.to_dot(loss, names))
    print(f"\nwrote the graph to {args.dot} (draw it with: dot -Tpng {args.dot} -o graph.png)")
    if page is not None:
        page.save(args.html)
        print(f"wrote {args.html}: open it in a browser and press the right arrow to step "
              "through backward")
    if error > 1e-6:
        raise cli.ExampleError(f"the finite difference disagrees with backward by {error:.1e}")
    compiled_step(w.data.copy(), b.data.copy(), x, target)


def compiled_step(w_start, b_start, x, target):
    """A whole training step of the neuron, as minigrad.compile records and replays it.

    The first calls run eagerly while a recorder writes down every operation, the backward
    pass (each node's backward rule, as operations too) and the optimizer's step; later calls
    run that program, its elementwise operations fused into compiled loops.
    """
    w = minigrad.tensor(w_start, requires_grad=True)
    b = minigrad.tensor(b_start, requires_grad=True)
    optimizer = minigrad.optim.SGD([w, b], lr=0.1)

    @minigrad.compile
    def train_step(x):
        optimizer.zero_grad()
        loss = build(w, b, x, target)["L"]
        loss.backward()
        optimizer.step()
        return loss

    losses = [train_step(x).item() for _ in range(4)]
    if not train_step.compiled:  # Numba absent or disabled: the step ran eagerly
        return
    print("\nA training step compiled (minigrad.compile): forward, backward and an SGD update, "
          "one line per operation,\nas recorded once and replayed at every later call "
          "(print(step.source) shows the loops made of it):")
    print(train_step.program)
    print(f"losses over four steps: {', '.join(f'{loss:.6f}' for loss in losses)}")


if __name__ == "__main__":
    cli.run_main(main)
