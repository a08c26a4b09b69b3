"""A tour of reverse-mode autograd on one neuron: build, inspect, differentiate, check.

    python examples/autograd_tour.py
    python examples/autograd_tour.py --dot runs/tour.dot   # also write the graph for Graphviz
    dot -Tpng runs/tour.dot -o graph.png                   # draw it, if Graphviz is installed
    python examples/autograd_tour.py --html runs/tour.html # open it, press the right arrow

The expression is a single tanh neuron and its squared error,

    z = sum(w * x) + b,    y = tanh(z),    L = (y - target)^2

Each line of it records one node of the graph (the ``grad_fn`` of its result). ``backward()``
then walks the graph from L back to the leaves, multiplying local derivatives (the chain rule):

    dL/dy = 2 (y - target),   dL/dz = dL/dy * (1 - y^2),   dL/dw = dL/dz * x,   dL/db = dL/dz

The script prints the graph, every node's gradient next to that formula worked out by hand, and
checks dL/dw[0] by central finite differences: (L(w0 + h) - L(w0 - h)) / 2h.

Then it goes one level up. The gradient is itself a computation: with ``create_graph=True`` the
backward pass records its own graph, which the script prints, and which can be differentiated
again, giving a Hessian-vector product H v = d/dw (dL/dw . v), checked against finite differences
of gradients. Last, the two modes on one function f(x) = tanh(A x): forward mode (jvp) costs one
pass per input, reverse mode (vjp) one pass per output, so each wins on its own shape of A.
Then it compiles a training step of the neuron (minigrad.compile) and prints the program it
recorded: the forward operations, the backward pass written out as operations too, and the
optimizer's step.
"""

import os
import time

import cli
import numpy as np

import minigrad
from minigrad import autograd, func, graph
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
    parser = cli.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=cli.non_negative_int, default=0,
                        help="seed for the starting weights w")
    parser.add_argument("--dot", metavar="FILE", default=None,
                        help="also write the graph to FILE in Graphviz DOT format")
    parser.add_argument("--html", metavar="FILE",
                        help="also write the graph as a web page that steps through backward")
    args = parser.parse_args(argv)
    for flag, path in (("--dot", args.dot), ("--html", args.html)):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder is not None and not os.path.isdir(folder):
            parser.error(f"{flag} {path}: the folder {folder} does not exist")
    return args


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

    if args.dot is not None:
        _write(args.dot, "--dot", lambda file: file.write(graph.to_dot(loss, names)))
        print(f"\nwrote the graph to {args.dot} (draw it with: dot -Tpng {args.dot} -o "
              "graph.png)")
    if page is not None:
        _write(args.html, "--html", lambda file: file.write(page.to_html()))
        print(f"wrote {args.html}: open it in a browser and press the right arrow to step "
              "through backward")
    if error > 1e-6:
        raise cli.ExampleError(f"the finite difference disagrees with backward by {error:.1e}")
    higher_order(w, b, x, target, rng)
    forward_and_reverse(rng)
    compiled_step(w.data.copy(), b.data.copy(), x, target)


def _write(path, flag, write):
    """Write a file, turning an OS error into a one-line message."""
    try:
        with open(path, "w") as file:
            write(file)
    except OSError as problem:
        raise cli.ExampleError(f"{flag}: cannot write {path}: {problem.strerror}") from None


def higher_order(w, b, x, target, rng):
    """The gradient as a graph of its own, and a Hessian-vector product checked numerically."""
    print("\nThe gradient is a computation too. With create_graph=True backward records it:")
    loss = build(w, b, x, target)["L"]
    (grad_w,) = autograd.grad(loss, w, create_graph=True)
    print("dL/dw as a graph (every backward rule's operations, down to w):")
    print(graph.describe(grad_w))

    def loss_of(w_):
        return build(w_, b, x, target)["L"]

    v = minigrad.tensor(rng.standard_normal(3), dtype=np.float64)
    _, hv = func.hvp(loss_of, w.detach(), v)  # d/dw (dL/dw . v), never forming H
    h = 1e-6
    plus = func.grad(loss_of)(minigrad.tensor(w.data + h * v.data)).data
    minus = func.grad(loss_of)(minigrad.tensor(w.data - h * v.data)).data
    numeric = (plus - minus) / (2 * h)
    print(f"\nHessian-vector product H v: hvp gives {np.round(hv.data, 6).tolist()},")
    print(f"finite differences of gradients give {np.round(numeric, 6).tolist()} "
          f"(largest difference {np.max(np.abs(hv.data - numeric)):.1e})")
    if not np.allclose(hv.data, numeric, rtol=1e-5, atol=1e-7):
        raise cli.ExampleError("the Hessian-vector product disagrees with finite differences")


def forward_and_reverse(rng):
    """The full Jacobian of f(x) = tanh(A x) by forward and by reverse mode, with their costs."""
    print("\nForward mode or reverse mode? The Jacobian of f(x) = tanh(A x) needs one jvp per "
          "input\nor one vjp per output:")
    for inputs, outputs in ((3, 60), (60, 3)):
        a = minigrad.tensor(rng.standard_normal((outputs, inputs)), dtype=np.float64)
        x = minigrad.tensor(rng.standard_normal(inputs), dtype=np.float64)

        def f(x_, a=a):
            return (a @ x_).tanh()

        results = []
        for transform in (func.jacfwd, func.jacrev):
            start = time.perf_counter()
            with minigrad.no_grad():
                jacobian = transform(f)(x)
            results.append((time.perf_counter() - start, jacobian.data))
        (fwd_time, fwd), (rev_time, rev) = results
        agree = "equal" if np.allclose(fwd, rev, rtol=1e-12) else "DIFFERENT"
        print(f"  A is {outputs} x {inputs}: forward mode {inputs} passes, "
              f"{fwd_time * 1e3:.1f} ms; reverse mode {outputs} passes, {rev_time * 1e3:.1f} ms; "
              f"Jacobians {agree}")
        if agree != "equal":
            raise cli.ExampleError("forward and reverse mode disagree on the Jacobian")


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
