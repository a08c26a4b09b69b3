"""Recurrent layers: sequence layers against a loop over their cells, gradcheck, shapes, errors."""

import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad.nn import functional as F
from minigrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

F64 = np.float64
PAIRS = [
    ("RNN", lambda I, H, **kw: RNN(I, H, **kw), RNNCell),
    ("RNN_relu", lambda I, H, **kw: RNN(I, H, nonlinearity="relu", **kw),
     lambda I, H, **kw: RNNCell(I, H, nonlinearity="relu", **kw)),
    ("LSTM", lambda I, H, **kw: LSTM(I, H, **kw), LSTMCell),
    ("GRU", lambda I, H, **kw: GRU(I, H, **kw), GRUCell),
]
NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def _cells_for(seq):
    """One float64 cell per layer and direction of ``seq``, with copies of its weights."""
    cell_cls = {"RNN_TANH": RNNCell, "RNN_RELU": RNNCell, "LSTM": LSTMCell, "GRU": GRUCell}
    cells = []
    for k in range(seq.num_layers):
        kwargs = {"nonlinearity": seq.nonlinearity} if seq.mode.startswith("RNN") else {}
        size = seq.input_size if k == 0 else seq.hidden_size * seq.num_directions
        layer = []
        for suffix in ["", "_reverse"][:seq.num_directions]:
            cell = cell_cls[seq.mode](size, seq.hidden_size, bias=seq.bias, dtype=F64, **kwargs)
            for name in NAMES if seq.bias else NAMES[:2]:
                cell._parameters[name].data[...] = seq._parameters[f"{name}_l{k}{suffix}"].data
            layer.append(cell)
        cells.append(layer)
    return cells


def _run_cells(cells, x, hx, lstm, dropout=0.0):
    """The reference: loop the cells over time, directions and layers (time-major x).

    The reverse cell reads x_{T-1} .. x_0; each layer's output puts both directions side by
    side; dropout (training mode) goes between layers, drawn as the sequence layer draws it.
    """
    T = x.shape[0]
    inputs = x
    h_n, c_n = [], []
    for k, layer in enumerate(cells):
        if k > 0:
            inputs = F.dropout(inputs, dropout)
        outputs = []
        for d, cell in enumerate(layer):
            stack = k * len(layer) + d
            if lstm:
                state = None if hx is None else (hx[0][stack], hx[1][stack])
            else:
                state = None if hx is None else hx[stack]
            steps = range(T - 1, -1, -1) if d == 1 else range(T)
            by_time = [None] * T
            for t in steps:
                state = cell(inputs[t], state)
                by_time[t] = state[0] if lstm else state
            outputs.append(minigrad.stack(by_time))
            h_n.append(state[0] if lstm else state)
            if lstm:
                c_n.append(state[1])
        inputs = outputs[0] if len(outputs) == 1 else minigrad.concatenate(outputs, axis=2)
    h_n = minigrad.stack(h_n)
    return inputs, ((h_n, minigrad.stack(c_n)) if lstm else h_n)


def _leaf(rng, *shape):
    return minigrad.tensor(rng.standard_normal(shape), dtype=F64, requires_grad=True)


def _loss(output, state, weights):
    """A scalar that gives every output, h_n and c_n element a different random weight."""
    parts = [output] + (list(state) if isinstance(state, tuple) else [state])
    return sum((p * minigrad.tensor(w)).sum() for p, w in zip(parts, weights))


@pytest.mark.parametrize("name, make_seq, make_cell", PAIRS, ids=[p[0] for p in PAIRS])
@pytest.mark.parametrize("num_layers, bias, with_hx, bidirectional, dropout", [
    (1, True, False, False, 0.0), (2, True, True, False, 0.0), (2, False, True, False, 0.0),
    (1, True, True, True, 0.0), (2, True, True, True, 0.0), (3, True, False, True, 0.4),
    (2, False, True, False, 0.5)])
def test_sequence_layer_matches_loop_over_cells(rng, name, make_seq, make_cell, num_layers, bias,
                                                with_hx, bidirectional, dropout):
    T, B, I, H = 5, 3, 4, 6
    lstm = name == "LSTM"
    seq = make_seq(I, H, num_layers=num_layers, bias=bias, bidirectional=bidirectional,
                   dropout=dropout, dtype=F64)
    cells = _cells_for(seq)
    D = 2 if bidirectional else 1
    x = _leaf(rng, T, B, I)
    hx = None
    if with_hx:
        hx = (_leaf(rng, num_layers * D, B, H), _leaf(rng, num_layers * D, B, H)) if lstm \
            else _leaf(rng, num_layers * D, B, H)
    x_ref = minigrad.tensor(x.data, requires_grad=True)
    hx_ref = None if hx is None else (
        tuple(minigrad.tensor(h.data, requires_grad=True) for h in hx) if lstm
        else minigrad.tensor(hx.data, requires_grad=True))

    minigrad.manual_seed(5)  # the same dropout masks for both
    output, state = seq(x, hx)
    minigrad.manual_seed(5)
    ref_output, ref_state = _run_cells(cells, x_ref, hx_ref, lstm, dropout)
    states = state if lstm else (state,)
    ref_states = ref_state if lstm else (ref_state,)
    assert output.shape == (T, B, D * H)
    np.testing.assert_allclose(output.data, ref_output.data, rtol=0, atol=1e-10)
    for s, r in zip(states, ref_states):
        assert s.shape == (num_layers * D, B, H)
        np.testing.assert_allclose(s.data, r.data, rtol=0, atol=1e-10)

    weights = [rng.standard_normal(output.shape)] + [rng.standard_normal(s.shape) for s in states]
    _loss(output, state, weights).backward()
    _loss(ref_output, ref_state, weights).backward()
    np.testing.assert_allclose(x.grad, x_ref.grad, rtol=0, atol=1e-10)
    if with_hx:
        for h, h_ref in zip(hx if lstm else (hx,), hx_ref if lstm else (hx_ref,)):
            np.testing.assert_allclose(h.grad, h_ref.grad, rtol=0, atol=1e-10)
    for k, layer in enumerate(cells):
        for suffix, cell in zip(["", "_reverse"], layer):
            for pname in NAMES if bias else NAMES[:2]:
                got = seq._parameters[f"{pname}_l{k}{suffix}"].grad
                np.testing.assert_allclose(got, cell._parameters[pname].grad, rtol=0,
                                           atol=1e-10, err_msg=f"{pname}_l{k}{suffix}")


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_reverse_direction_is_the_forward_layer_on_the_reversed_sequence(rng, cls):
    """Output[..., H:] of a bidirectional layer = a one-way layer with the _reverse weights
    run on x[::-1], read backwards; likewise every gradient."""
    T, B, I, H = 6, 2, 3, 4
    both = cls(I, H, bidirectional=True, dtype=F64)
    one_way = cls(I, H, dtype=F64)
    one_way.load_state_dict({name.replace("_reverse", ""): value
                             for name, value in both.state_dict().items() if "reverse" in name})
    x = _leaf(rng, T, B, I)
    x_rev = minigrad.tensor(x.data[::-1].copy(), requires_grad=True)
    output, state = both(x)
    rev_output, rev_state = one_way(x_rev)
    np.testing.assert_allclose(output.data[..., H:], rev_output.data[::-1], rtol=0, atol=1e-12)
    h_n, rev_h_n = (state[0], rev_state[0]) if cls is LSTM else (state, rev_state)
    np.testing.assert_allclose(h_n.data[1], rev_h_n.data[0], rtol=0, atol=1e-12)

    cotangent = rng.standard_normal((T, B, H))
    (output[..., H:] * minigrad.tensor(cotangent)).sum().backward()
    (rev_output * minigrad.tensor(cotangent[::-1].copy())).sum().backward()
    np.testing.assert_allclose(x.grad, x_rev.grad[::-1], rtol=0, atol=1e-12)
    for name, p in one_way.named_parameters():
        np.testing.assert_allclose(both._parameters[name + "_reverse"].grad, p.grad, rtol=0,
                                   atol=1e-12, err_msg=name)
        assert np.all(both._parameters[name].grad == 0)  # the forward half got no gradient


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_batch_first_and_unbatched_agree_with_time_major(rng, cls):
    T, B, I, H = 4, 2, 3, 5
    seq = cls(I, H, num_layers=2, dtype=F64)
    first = cls(I, H, num_layers=2, batch_first=True, dtype=F64)
    first.load_state_dict(seq.state_dict())
    x = rng.standard_normal((T, B, I))
    out, state = seq(minigrad.tensor(x))
    out_bf, state_bf = first(minigrad.tensor(x.transpose(1, 0, 2)))
    assert out_bf.shape == (B, T, H)
    np.testing.assert_allclose(out_bf.data.transpose(1, 0, 2), out.data, atol=1e-12)
    h, h_bf = (state[0], state_bf[0]) if cls is LSTM else (state, state_bf)
    np.testing.assert_allclose(h_bf.data, h.data, atol=1e-12)
    out_1, state_1 = seq(minigrad.tensor(x[:, 0]))  # unbatched (T, I)
    assert out_1.shape == (T, H)
    np.testing.assert_allclose(out_1.data, out.data[:, 0], atol=1e-12)
    h_1 = state_1[0] if cls is LSTM else state_1
    assert h_1.shape == (2, H)


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell, GRUCell])
def test_cells_gradcheck(rng, cls):
    cell = cls(3, 4, dtype=F64)
    x, h, c = _leaf(rng, 2, 3), _leaf(rng, 2, 4), _leaf(rng, 2, 4)
    weights = [minigrad.tensor(p.data, requires_grad=True) for p in cell.parameters()]

    def run(x, h, c, *w):
        def forward():
            if cls is LSTMCell:
                return minigrad.concatenate(list(cell(x, (h, c))), axis=1)
            return cell(x, h)
        return _with_weights(cell, w, forward)

    assert minigrad.gradcheck(run, x, h, c, *weights)


def _with_weights(module, weights, fn):
    """Run ``fn`` with ``weights`` (Tensors) standing in for the module's parameters."""
    saved = dict(module._parameters)
    for (name, _), w in zip(saved.items(), weights):
        module._parameters[name] = w
        object.__setattr__(module, name, w)
    try:
        return fn()
    finally:
        for name, p in saved.items():
            module._parameters[name] = p
            object.__setattr__(module, name, p)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_sequence_layers_gradcheck(rng, cls):
    T, B, I, H = 3, 2, 2, 3
    seq = cls(I, H, num_layers=2, bidirectional=True, dtype=F64)
    lstm = cls is LSTM
    x, h0, c0 = _leaf(rng, T, B, I), _leaf(rng, 4, B, H), _leaf(rng, 4, B, H)
    weights = [minigrad.tensor(p.data, requires_grad=True) for p in seq.parameters()]

    def run(x, h0, c0, *w):
        def forward():
            output, state = seq(x, (h0, c0) if lstm else h0)
            h_n = state[0] if lstm else state
            parts = [output, h_n] + ([state[1]] if lstm else [])
            return minigrad.concatenate([p.reshape(-1) for p in parts])
        return _with_weights(seq, w, forward)

    assert minigrad.gradcheck(run, x, h0, c0, *weights)


def test_parameter_names_shapes_and_init_bounds_as_pytorch():
    lstm = LSTM(10, 20, num_layers=2)
    shapes = {name: p.shape for name, p in lstm.named_parameters()}
    assert shapes == {
        "weight_ih_l0": (80, 10), "weight_hh_l0": (80, 20), "bias_ih_l0": (80,),
        "bias_hh_l0": (80,), "weight_ih_l1": (80, 20), "weight_hh_l1": (80, 20),
        "bias_ih_l1": (80,), "bias_hh_l1": (80,),
    }
    assert [n for n, _ in GRU(3, 7, bias=False).named_parameters()] == ["weight_ih_l0",
                                                                       "weight_hh_l0"]
    assert GRU(3, 7).weight_ih_l0.shape == (21, 3)
    assert RNN(3, 7).weight_hh_l0.shape == (7, 7)
    cell = LSTMCell(5, 9)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (36, 5)), ("weight_hh", (36, 9)), ("bias_ih", (36,)), ("bias_hh", (36,))]
    assert [(n, p.shape) for n, p in GRU(3, 5, num_layers=2, bidirectional=True,
                                        bias=False).named_parameters()] == [
        ("weight_ih_l0", (15, 3)), ("weight_hh_l0", (15, 5)),
        ("weight_ih_l0_reverse", (15, 3)), ("weight_hh_l0_reverse", (15, 5)),
        ("weight_ih_l1", (15, 10)), ("weight_hh_l1", (15, 5)),
        ("weight_ih_l1_reverse", (15, 10)), ("weight_hh_l1_reverse", (15, 5))]
    for module in (RNN(4, 400), LSTM(4, 400), GRU(4, 400), RNNCell(4, 400), GRUCell(4, 400),
                   LSTM(4, 400, bidirectional=True)):
        bound = 1 / np.sqrt(400)
        for name, p in module.named_parameters():
            assert p.dtype == np.float32
            assert np.abs(p.data).max() <= bound, name
            assert np.abs(p.data).max() > 0.95 * bound, name  # fills the range, not a smaller one


def test_float32_layers_run_in_float32_and_match_float64(rng):
    x = rng.standard_normal((6, 2, 3))
    m32 = LSTM(3, 4)
    m64 = LSTM(3, 4, dtype=F64)
    m64.load_state_dict({k: v.astype(F64) for k, v in m32.state_dict().items()})
    out32, _ = m32(minigrad.tensor(x, dtype="float32"))
    out64, _ = m64(minigrad.tensor(x))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, out64.data, atol=1e-5)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_bad_shapes_raise_clear_errors(cls):
    seq = cls(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"input has shape \(5, 2, 7\).*input_size=3"):
        seq(minigrad.zeros((5, 2, 7)))
    with pytest.raises(ValueError, match=r"input has shape \(5,\)"):
        seq(minigrad.zeros((5,)))
    with pytest.raises(ValueError, match="sequence is empty"):
        seq(minigrad.zeros((0, 2, 3)))
    bad = minigrad.zeros((1, 2, 4))
    with pytest.raises(ValueError, match=r"has shape \(1, 2, 4\), expected \(2, 2, 4\)"):
        seq(minigrad.zeros((5, 2, 3)), (bad, bad) if cls is LSTM else bad)
    with pytest.raises(ValueError, match="must be an int >= 1"):
        cls(3, 0)


def test_bad_cell_inputs_and_options_raise():
    with pytest.raises(ValueError, match=r"RNNCell: input has shape \(2, 5\), expected \(batch, 3"):
        RNNCell(3, 4)(minigrad.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"GRUCell: hx has shape \(2, 5\), expected \(2, 4\)"):
        GRUCell(3, 4)(minigrad.zeros((2, 3)), minigrad.zeros((2, 5)))
    with pytest.raises(ValueError, match="pair"):
        LSTMCell(3, 4)(minigrad.zeros((2, 3)), minigrad.zeros((2, 4)))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")


def test_repr_reads_like_pytorch():
    assert repr(LSTM(10, 20, num_layers=2, batch_first=True)) == \
        "LSTM(10, 20, num_layers=2, batch_first=True)"
    assert repr(RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity='relu')"
    assert repr(GRU(1, 6, num_layers=2, batch_first=True, dropout=0.25, bidirectional=True)) == \
        "GRU(1, 6, num_layers=2, batch_first=True, dropout=0.25, bidirectional=True)"


def test_importing_minigrad_does_not_import_numba():
    code = "import sys, minigrad, minigrad.nn; assert 'numba' not in sys.modules, 'numba loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------- dropout, shapes
@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_dropout_acts_between_layers_in_training_only_and_repeats_with_the_seed(rng, cls):
    x = minigrad.tensor(rng.standard_normal((5, 3, 2)))
    with_dropout = cls(2, 8, num_layers=2, dropout=0.5)
    without = cls(2, 8, num_layers=2)
    without.load_state_dict(with_dropout.state_dict())

    def output(seq, seed=0):
        minigrad.manual_seed(seed)
        return seq(x)[0].data

    assert not np.allclose(output(with_dropout), output(without))
    np.testing.assert_array_equal(output(with_dropout, 1), output(with_dropout, 1))
    assert not np.array_equal(output(with_dropout, 1), output(with_dropout, 2))
    with_dropout.eval()
    np.testing.assert_array_equal(output(with_dropout), output(without))
    with_dropout.train()
    # A one-layer network has nothing to drop between layers: identical outputs, and a warning.
    with pytest.warns(UserWarning, match="num_layers=1"):
        single = cls(2, 8, dropout=0.5)
    np.testing.assert_array_equal(output(single, 1), output(single, 2))


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "0.5", None])
def test_bad_dropout_is_refused(bad):
    with pytest.raises(ValueError, match=r"LSTM: dropout must be a probability in \[0, 1\]"):
        LSTM(2, 3, num_layers=2, dropout=bad)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_bidirectional_shapes_batch_first_and_unbatched(rng, cls):
    T, B, I, H = 4, 3, 2, 5
    seq = cls(I, H, num_layers=3, bidirectional=True, batch_first=True)
    output, state = seq(minigrad.tensor(rng.standard_normal((B, T, I)), dtype="float32"))
    h_n = state[0] if cls is LSTM else state
    assert output.shape == (B, T, 2 * H) and h_n.shape == (6, B, H)
    assert output.dtype == np.float32
    single, single_state = seq(minigrad.tensor(rng.standard_normal((T, I)), dtype="float32"))
    assert single.shape == (T, 2 * H)
    assert (single_state[0] if cls is LSTM else single_state).shape == (6, H)
    bad = minigrad.zeros((3, B, H))
    with pytest.raises(ValueError, match=r"has shape \(3, 3, 5\), expected \(6, 3, 5\) "
                                         r"\(num_layers \* num_directions"):
        seq(minigrad.zeros((B, T, I)), (bad, bad) if cls is LSTM else bad)


# ------------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_a_pytorch_state_dict_gives_pytorch_outputs_and_gradients(rng, kind, batch_first):
    torch = pytest.importorskip("torch")
    I, H, L = 3, 4, 2
    ours_cls = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[kind]
    theirs = getattr(torch.nn, kind)(I, H, num_layers=L, bidirectional=True,
                                     batch_first=batch_first).double()
    ours = ours_cls(I, H, num_layers=L, bidirectional=True, batch_first=batch_first, dtype=F64)
    state = {name: value.detach().numpy() for name, value in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())  # same names, same order
    ours.load_state_dict(state)

    shape = (2, 5, I) if batch_first else (5, 2, I)
    x_np = rng.standard_normal(shape)
    h0_np = rng.standard_normal((2 * L, 2, H))
    x_t = torch.tensor(x_np, requires_grad=True)
    h0_t = torch.tensor(h0_np, requires_grad=True)
    x = minigrad.tensor(x_np, requires_grad=True)
    h0 = minigrad.tensor(h0_np, requires_grad=True)
    lstm = kind == "LSTM"
    out_t, state_t = theirs(x_t, (h0_t, h0_t * 0.5) if lstm else h0_t)
    out, state = ours(x, (h0, h0 * 0.5) if lstm else h0)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=0, atol=1e-12)
    h_t, h = (state_t[0], state[0]) if lstm else (state_t, state)
    np.testing.assert_allclose(h.data, h_t.detach().numpy(), rtol=0, atol=1e-12)

    cotangent = rng.standard_normal(out.shape)
    weights_h = rng.standard_normal(h.shape)
    ((out_t * torch.tensor(cotangent)).sum() + (h_t * torch.tensor(weights_h)).sum()).backward()
    ((out * minigrad.tensor(cotangent)).sum() + (h * minigrad.tensor(weights_h)).sum()).backward()
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h0.grad, h0_t.grad.numpy(), rtol=0, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours._parameters[name].grad, p.grad.numpy(), rtol=0,
                                   atol=1e-12, err_msg=name)
