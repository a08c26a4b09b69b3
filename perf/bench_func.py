"""What forward mode and second derivatives cost, against the passes they are built from.

    python perf/bench_func.py [--quick] [--threads N] [--out DIR | --commit]

Writes func.json and func.txt (the printed table) into the output folder (perf/out, or
perf/results with --commit).

For an MLP (batch, in, hidden, out) with two hidden layers, in float32, timed round-robin in one
process (medians over interleaved rounds, and the quartiles of the per-round ratios):
- jvp: ``minigrad.func.jvp`` of the forward pass along a random direction of the input, one
  forward pass carrying tangents, against the plain forward pass (target: at most 2x; each layer
  adds one product, dx W^T, to the forward's one);
- jvp (weights): the same along a random direction in weight space, which needs x dW^T as well:
  ideally (3 + 5) / 3 = 2.7x the forward's products; reported, no target;
- hvp: ``minigrad.func.hvp`` of the loss with respect to the weights (reverse mode over reverse
  mode), against one forward-backward pass that gives the gradient (target: at most 5x).
"""

import json
import os
import time

import common  # first: it applies --threads before NumPy loads
import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import func, nn

SHAPES = [(32, 2, 64, 2), (64, 784, 256, 10), (256, 784, 512, 10)]


def setup(shape, seed=0):
    """The model's loss and forward as functions of its weights, the weights and a direction."""
    batch, inputs, hidden, outputs = shape
    minigrad.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                          nn.ReLU(), nn.Linear(hidden, outputs))
    x = minigrad.tensor(rng.standard_normal((batch, inputs)).astype(np.float32))
    dx = minigrad.tensor(rng.standard_normal((batch, inputs)).astype(np.float32))
    y = rng.integers(0, outputs, batch)
    names = [name for name, _ in model.named_parameters()]
    weights = tuple(p.detach() for p in model.parameters())
    direction = tuple(minigrad.tensor(rng.standard_normal(w.shape).astype(np.float32))
                      for w in weights)

    def forward(*ws):
        return func.functional_call(model, dict(zip(names, ws)), (x,))

    def loss(*ws):
        return F.cross_entropy(forward(*ws), y)

    def forward_only():
        with minigrad.no_grad():
            forward(*weights)

    def jvp():
        with minigrad.no_grad():
            func.jvp(model, (x,), (dx,))

    def jvp_weights():
        with minigrad.no_grad():
            func.jvp(forward, weights, direction)

    def forward_backward():
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()

    def hvp():
        func.hvp(loss, weights, direction)

    return {"forward": forward_only, "jvp": jvp, "jvp (weights)": jvp_weights,
            "forward+backward": forward_backward, "hvp": hvp}


def time_rounds(functions, rounds, seconds_per_turn):
    """Seconds per call of each function, one sample per turn, timed in interleaved turns.

    Unlike ``common.time_round_robin`` this keeps every round's sample, for the per-round
    ratios (jvp over forward in the same round) whose quartiles the table shows.
    """
    samples = {name: [] for name in functions}
    for fn in functions.values():
        fn()  # warm up (and compile what Numba compiles)
    for _ in range(rounds):
        for name, fn in functions.items():
            calls, start = 0, time.perf_counter()
            while True:
                fn()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds_per_turn:
                    break
            samples[name].append(elapsed / calls)
    return samples


def main(argv=None):
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    args = parser.parse_args(argv)
    folder = common.results_dir(args)
    with common.tee(os.path.join(folder, "func.txt")):
        results = run(args)
    with open(os.path.join(folder, "func.json"), "w") as file:
        json.dump({"machine": common.machine_info(args.threads), "results": results}, file,
                  indent=1)
    print(f"wrote func.json and func.txt in {os.path.relpath(folder)}")


def run(args):
    """Time every shape; print the table and return its rows."""
    shapes = SHAPES[:1] if args.quick else SHAPES
    rounds = 3 if args.quick else args.rounds
    results = []
    print(f"{'MLP shape':<22}{'forward':>9}{'jvp':>9}{'ratio':>7}{'jvp(w)':>9}{'ratio':>7}"
          f"{'fwd+bwd':>9}{'hvp':>9}{'ratio':>7}   (ms; ratio quartiles)")
    for shape in shapes:
        samples = time_rounds(setup(shape), rounds, 0.02 if args.quick else 0.1)
        row = {"shape": list(shape), **{k: float(np.median(v)) for k, v in samples.items()}}
        for name, base in (("jvp", "forward"), ("jvp (weights)", "forward"),
                           ("hvp", "forward+backward")):
            ratios = np.array(samples[name]) / np.array(samples[base])
            row[f"{name}_ratio"] = float(np.median(ratios))
            row[f"{name}_ratio_quartiles"] = [float(q) for q in np.percentile(ratios, [25, 75])]
        results.append(row)
        quartiles = " ".join(f"{name} [{row[name + '_ratio_quartiles'][0]:.2f}-"
                             f"{row[name + '_ratio_quartiles'][1]:.2f}]"
                             for name in ("jvp", "hvp"))
        print(f"{str(shape):<22}{row['forward'] * 1e3:>9.3f}{row['jvp'] * 1e3:>9.3f}"
              f"{row['jvp_ratio']:>7.2f}{row['jvp (weights)'] * 1e3:>9.3f}"
              f"{row['jvp (weights)_ratio']:>7.2f}{row['forward+backward'] * 1e3:>9.3f}"
              f"{row['hvp'] * 1e3:>9.3f}{row['hvp_ratio']:>7.2f}   {quartiles}")
    return results


if __name__ == "__main__":
    main()
