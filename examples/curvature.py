"""Curvature for optimizer questions: Newton's method, and the stability limit lr < 2 / lambda_max.

    python examples/curvature.py                   # both parts, about 10 s
    python examples/curvature.py --lr 1.0 --plot curvature.png

Part 1, Newton's method. On logistic regression (a convex loss of 3 weights, with one feature
on a 20 times larger scale than the other) a Newton step w <- w - H^-1 g, with the Hessian H
from ``minigrad.func.hessian``, reaches the minimum to 1e-10 in a handful of steps. Gradient
descent must take steps below 2 / lambda_max for the steepest direction, so it crawls along the
flat one, and is still on its way after hundreds.

Part 2, the largest eigenvalue of the loss's Hessian, lambda_max, along a full-batch gradient
descent run on the spirals MLP. It is measured without ever forming the Hessian: power iteration
repeats v <- H v / |H v|, and each H v is one Hessian-vector product (``minigrad.func.hvp``:
reverse mode over reverse mode). On a quadratic, gradient descent with learning rate lr is stable
only while lr < 2 / lambda_max. Watch lambda_max against the limit 2 / lr: for a large lr it
climbs until it reaches the limit and then hovers there (Cohen et al., 2021, "Gradient Descent on
Neural Networks Typically Occurs at the Edge of Stability").
"""

import cli
import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import data, func, nn


def parse_args(argv=None):
    parser = cli.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=cli.positive_float, default=0.5,
                        help="learning rate of the gradient descent run in part 2 (default: 0.5)")
    parser.add_argument("--steps", type=cli.positive_int, default=1500,
                        help="gradient descent steps in part 2 (default: 1500)")
    parser.add_argument("--every", type=cli.positive_int, default=150,
                        help="measure lambda_max every this many steps (default: 150)")
    parser.add_argument("--iterations", type=cli.positive_int, default=20,
                        help="power iterations per measurement (default: 20)")
    parser.add_argument("--seed", type=cli.non_negative_int, default=0,
                        help="seed for the data and the initial weights (default: 0)")
    parser.add_argument("--plot", metavar="FILE",
                        help="also draw lambda_max and 2/lr against steps (needs matplotlib)")
    return parser.parse_args(argv)


# ----------------------------------------------------------------------- part 1: Newton
def logistic_loss(x, y):
    """The mean logistic loss of weights w = (w1, w2, b) on points ``x`` with labels ``y``."""
    def loss(w):
        logits = x @ w[:2] + w[2]
        return F.binary_cross_entropy_with_logits(logits, y)
    return loss


def newton_versus_gradient_descent(seed):
    """Run both methods from zero on overlapping 2-D classes; return the printed rows."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-1, 1.2, (100, 2)), rng.normal(1, 1.2, (100, 2))])
    x[:, 1] *= 20  # badly scaled features: a long, narrow valley
    y = np.repeat([0.0, 1.0], 100)
    loss = logistic_loss(minigrad.tensor(x, dtype=np.float64), minigrad.tensor(y, dtype=np.float64))
    grad, hessian = func.grad(loss), func.hessian(loss)

    w = np.zeros(3)
    newton = []
    for _ in range(8):
        point = minigrad.tensor(w, dtype=np.float64)
        g = grad(point).data
        newton.append((loss(point).item(), float(np.linalg.norm(g))))
        w = w - np.linalg.solve(hessian(point).data, g)  # one Newton step
    # The largest stable step: 1 / lambda_max of the Hessian at the start (the loss is convex and
    # its curvature is largest there).
    lr = 1 / np.linalg.eigvalsh(hessian(minigrad.tensor(np.zeros(3), dtype=np.float64)).data)[-1]
    w_gd = np.zeros(3)
    descent = []
    for step in range(1, 501):
        point = minigrad.tensor(w_gd, dtype=np.float64)
        g = grad(point).data
        w_gd = w_gd - lr * g
        if step in (1, 10, 100, 500):
            descent.append((step, loss(point).item(), float(np.linalg.norm(g))))
    return newton, descent, lr


# ----------------------------------------------------------- part 2: lambda_max along a run
def make_model(seed):
    minigrad.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 3))
    for p in model.parameters():
        p.data = p.data.astype(np.float64)  # float64: power iteration converges cleanly
    return model


def largest_eigenvalue(loss_of, weights, iterations, rng):
    """lambda_max of the Hessian of ``loss_of`` at ``weights``, by power iteration on H v."""
    v = [rng.standard_normal(w.shape) for w in weights]
    estimate = 0.0
    for _ in range(iterations):
        norm = np.sqrt(sum(np.sum(d * d) for d in v))
        v = tuple(minigrad.tensor(d / norm, dtype=np.float64) for d in v)
        _, hv = func.hvp(loss_of, tuple(w.detach() for w in weights), v)
        estimate = sum(float(np.sum(a.data * b.data)) for a, b in zip(v, hv))  # v . H v
        v = [h.data for h in hv]
    return estimate


def curvature_along_training(args):
    """Full-batch gradient descent on the spirals; (step, loss, lambda_max) every few steps."""
    x, y = data.spirals(300, classes=3, noise=0.02, seed=args.seed)
    x = minigrad.tensor(x, dtype=np.float64)
    model = make_model(args.seed)
    names = [name for name, _ in model.named_parameters()]
    params = list(model.parameters())

    def loss_of(*weights):
        return F.cross_entropy(func.functional_call(model, dict(zip(names, weights)), (x,)), y)

    rng = np.random.default_rng(args.seed)
    rows = []
    for step in range(args.steps + 1):
        if step % args.every == 0:
            with minigrad.no_grad():
                loss = F.cross_entropy(model(x), y).item()
            rows.append((step, loss, largest_eigenvalue(loss_of, params, args.iterations, rng)))
            print(f"  step {step:4d}  loss {loss:.4f}  lambda_max {rows[-1][2]:8.3f}  "
                  f"2/lr {2 / args.lr:.3f}", flush=True)
        if step == args.steps:
            break
        loss = F.cross_entropy(model(x), y)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= args.lr * p.grad
    return rows


def plot(rows, lr, path):
    try:
        import matplotlib
    except ImportError:
        raise cli.ExampleError("--plot needs matplotlib (pip install -e '.[examples]')") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, losses, eigenvalues = zip(*rows)
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.plot(steps, eigenvalues, "o-", label="lambda_max of the Hessian")
    axis.axhline(2 / lr, color="k", linestyle="--", label=f"2 / lr = {2 / lr:.2f}")
    axis.set_xlabel("gradient descent step")
    axis.set_ylabel("sharpness")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    args = parse_args(argv)
    print("Part 1: Newton's method against gradient descent on logistic regression")
    newton, descent, lr = newton_versus_gradient_descent(args.seed)
    for k, (loss, gnorm) in enumerate(newton):
        print(f"  Newton step {k}: loss {loss:.10f}  |gradient| {gnorm:.1e}")
    for step, loss, gnorm in descent:
        print(f"  gradient descent (lr {lr:.2g} = 1/lambda_max) step {step}: loss {loss:.10f}  "
              f"|gradient| {gnorm:.1e}")
    if newton[-1][1] > 1e-10:
        raise cli.ExampleError(f"Newton's method did not converge (|g| = {newton[-1][1]:.1e})")

    print(f"\nPart 2: lambda_max of the Hessian along gradient descent with lr {args.lr} "
          "(stable on a quadratic only while lambda_max < 2/lr)")
    rows = curvature_along_training(args)
    peak = max(eigenvalue for _, _, eigenvalue in rows)
    print(f"largest lambda_max seen: {peak:.3f}, against the limit 2/lr = {2 / args.lr:.3f}")
    if args.plot:
        plot(rows, args.lr, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    cli.run_main(main)
