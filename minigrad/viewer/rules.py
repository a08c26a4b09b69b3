"""The local derivative rule of each operation, as the viewer shows it beside a backward step.

``RULES`` maps a Function's class name to its rule, written for the reader (``g`` is the
gradient arriving at the output, ``out`` the output). It is documentation, not code the engine
runs: the numbers the viewer shows always come from the engine itself. An operation missing here
(a new one, say) is shown with the first line of its docstring instead.
"""

RULES = {
    # arithmetic
    "Add": "d(a + b)/da = 1,  d(a + b)/db = 1:  both inputs get g",
    "Sub": "d(a - b)/da = 1,  d(a - b)/db = -1:  a gets g, b gets -g",
    "Mul": "d(a b)/da = b,  d(a b)/db = a:  a gets g b, b gets g a",
    "Div": "d(a / b)/da = 1/b,  d(a / b)/db = -a/b^2:  a gets g/b, b gets -g out/b",
    "Neg": "d(-a)/da = -1:  a gets -g",
    "Pow": "d a^n/da = n a^(n-1):  a gets g n a^(n-1)",
    "PowTensor": "d a^b/da = b a^(b-1),  d a^b/db = a^b log(a)",
    # functions
    "Exp": "d e^a/da = e^a:  a gets g out",
    "Log": "d log(a)/da = 1/a:  a gets g / a",
    "Sqrt": "d sqrt(a)/da = 1 / (2 sqrt(a)):  a gets g / (2 out)",
    "Abs": "d |a|/da = sign(a):  a gets g sign(a)",
    "Tanh": "d tanh(a)/da = 1 - tanh(a)^2:  a gets g (1 - out^2)",
    "Sigmoid": "d s(a)/da = s(a) (1 - s(a)):  a gets g out (1 - out)",
    "ReLU": "d max(a, 0)/da = 1 if a > 0 else 0:  a gets g where a > 0",
    "Clip": "d clip(a)/da = 1 inside [min, max], else 0",
    "Maximum": "d max(a, b) = 1 for the larger side (1/2 each on a tie)",
    "Minimum": "d min(a, b) = 1 for the smaller side (1/2 each on a tie)",
    "Where": "d where(c, a, b): a gets g where c, b gets g elsewhere",
    # reductions
    "Sum": "d sum(a)/da_i = 1:  every element gets g",
    "Mean": "d mean(a)/da_i = 1/n:  every element gets g / n",
    "Max": "d max(a)/da_i = 1 at the maximum (shared on ties), else 0",
    "Min": "d min(a)/da_i = 1 at the minimum (shared on ties), else 0",
    "Var": "d var(a)/da_i = 2 (a_i - mean(a)) / (n - ddof)",
    "LogSumExp": "d logsumexp(a)/da = softmax(a):  a gets g softmax(a)",
    "Softmax": "d softmax:  a gets s (g - sum(g s))",
    "LogSoftmax": "d log_softmax:  a gets g - softmax(a) sum(g)",
    # moving elements
    "Reshape": "a reshape moves nothing:  a gets g reshaped back",
    "Transpose": "a transpose moves elements:  a gets g transposed back",
    "BroadcastTo": "each copy of a element adds up:  a gets g summed over the broadcast axes",
    "GetItem": "a[index]:  a gets g at the picked places (summed where picked twice), 0 elsewhere",
    "Concatenate": "joining:  each input gets its slice of g",
    "Stack": "stacking:  input i gets g[i] along the new axis",
    # linear algebra and layers
    "MatMul": "d(a @ b):  a gets g @ b^T,  b gets a^T @ g",
    "Linear": "y = x W^T + b:  x gets g W,  W gets g^T x,  b gets sum of g over the batch",
    "RNNLayer": "backpropagation through time: dh_(t-1) = (g_t + dh_t) act'(pre_t) W_hh",
    "LSTMLayer": "backpropagation through time through the gates i, f, g, o and the cell c",
    "GRULayer": "backpropagation through time through the gates r, z, n",
    # losses
    "MSELoss": "d (x - y)^2/dx = 2 (x - y):  x gets g 2 (x - y) / n for 'mean'",
    "L1Loss": "d |x - y|/dx = sign(x - y)",
    "CrossEntropy": "d CE/d logits = softmax(logits) - onehot(target):  over n for 'mean'",
    "NLLLoss": "d NLL/d logp = -1 at each target entry, 0 elsewhere",
    "BCEWithLogits": "d BCE/d logit = sigmoid(logit) - target",
    "BCE": "d BCE/dp = (p - y) / (p (1 - p))",
}


def rule_for(fn):
    """The derivative rule to show for the Function ``fn``: from ``RULES``, else its docstring."""
    rule = RULES.get(type(fn).__name__)
    if rule is not None:
        return rule
    doc = (type(fn).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "(no rule known for this operation)"
