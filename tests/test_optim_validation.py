"""Every validation error: bad values raise ValueError, bad types TypeError, naming the value."""

import numpy as np
import pytest
from optim_helpers import make_params

import minigrad
from minigrad import optim
from minigrad.optim import backends

BAD_VALUES = [
    (optim.SGD, dict(lr=-0.1), "SGD: invalid learning rate: -0.1"),
    (optim.SGD, dict(momentum=-1.0), "invalid momentum value: -1.0"),
    (optim.SGD, dict(weight_decay=-1.0), "invalid weight_decay value: -1.0"),
    (optim.SGD, dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "zero dampening"),
    (optim.RMSprop, dict(alpha=1.5), r"invalid alpha value: 1.5 \(expected 0 <= alpha <= 1\)"),
    (optim.RMSprop, dict(eps=-1e-8), "invalid epsilon value"),
    (optim.RMSprop, dict(momentum=-0.5), "invalid momentum value"),
    (optim.Adam, dict(betas=(1.5, 0.9)),
     r"Adam: invalid beta parameter at index 0: 1.5 \(expected 0 <= beta < 1\)"),
    (optim.Adam, dict(betas=(0.9, 1.0)), "invalid beta parameter at index 1: 1.0"),
    (optim.Adam, dict(eps=-1.0), "Adam: invalid epsilon value: -1.0"),
    (optim.Adam, dict(lr=float("nan")), "invalid learning rate: nan"),
    (optim.AdamW, dict(weight_decay=-0.1), "AdamW: invalid weight_decay value: -0.1"),
    (optim.AdaBelief, dict(betas=(0.9, -0.1)), "AdaBelief: invalid beta parameter at index 1"),
    (optim.AdaBelief, dict(eps=-1.0), "invalid epsilon value"),
    (optim.Lion, dict(lr=-1.0), "Lion: invalid learning rate"),
    (optim.Lion, dict(betas=(0.9, 2.0)), "invalid beta parameter at index 1"),
    (optim.Lion, dict(weight_decay=-1.0), "invalid weight_decay value"),
    (optim.Adam, dict(backend="cuda"), "unknown backend 'cuda'"),
]

BAD_TYPES = [
    (optim.SGD, dict(lr="0.1"), "learning rate must be a real number, got str"),
    (optim.SGD, dict(nesterov="yes"), "nesterov must be a bool"),
    (optim.RMSprop, dict(centered=1), "centered must be a bool"),
    (optim.Adam, dict(betas=0.9), "betas must be a pair"),
    (optim.Adam, dict(betas=(0.9, "x")), "beta at index 1 must be a real number"),
    (optim.Adam, dict(amsgrad=None), "amsgrad must be a bool"),
    (optim.Adam, dict(lr=0.1, learning_rate=0.1), "got both lr=0.1 and learning_rate=0.1"),
    (optim.AdaBelief, dict(decoupled_weight_decay=0), "decoupled_weight_decay must be a bool"),
    (optim.Adam, dict(backend=3), "backend must be a string"),
]


@pytest.mark.parametrize("cls, kwargs, message", BAD_VALUES)
def test_bad_values_raise_value_error(cls, kwargs, message, rng):
    with pytest.raises(ValueError, match=message):
        cls(make_params(rng), **kwargs)


@pytest.mark.parametrize("cls, kwargs, message", BAD_TYPES)
def test_bad_types_raise_type_error(cls, kwargs, message, rng):
    with pytest.raises(TypeError, match=message):
        cls(make_params(rng), **kwargs)


def test_bad_values_in_an_added_group(rng):
    opt = optim.SGD(make_params(rng), lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate: -1"):
        opt.add_param_group({"params": make_params(rng), "lr": -1})


def test_bad_params(rng):
    params = make_params(rng)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got Tensor"):
        optim.SGD(params[0])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="can only optimize Tensors, got ndarray"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": params}, {"params": params[:1]}])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([params[0], params[0]])
    with pytest.raises(TypeError, match="float32 or float64"):
        optim.SGD([minigrad.Tensor(np.zeros(3, np.float16))])


def test_lookahead_validation(rng):
    inner = optim.SGD(make_params(rng), lr=0.1)
    with pytest.raises(ValueError, match=r"invalid lookahead steps: 0 \(expected k >= 1\)"):
        optim.Lookahead(inner, k=0)
    with pytest.raises(ValueError, match="invalid slow update rate alpha: 1.5"):
        optim.Lookahead(inner, alpha=1.5)
    with pytest.raises(TypeError, match="k must be an int"):
        optim.Lookahead(inner, k=2.5)
    with pytest.raises(TypeError, match="must be a minigrad Optimizer"):
        optim.Lookahead(object())


def test_learning_rate_alias(rng):
    assert optim.Adam(make_params(rng), learning_rate=0.25).param_groups[0]["lr"] == 0.25
    assert optim.Adam(make_params(rng)).param_groups[0]["lr"] == 1e-3
    assert optim.SGD(make_params(rng)).param_groups[0]["lr"] == 1e-3
    assert optim.RMSprop(make_params(rng)).param_groups[0]["lr"] == 1e-2
    assert optim.Lion(make_params(rng)).param_groups[0]["lr"] == 1e-4
    assert optim.AdamW(make_params(rng)).param_groups[0]["weight_decay"] == 1e-2
    assert optim.SGD(make_params(rng), learning_rate=0.5).param_groups[0]["lr"] == 0.5
    with pytest.raises(TypeError, match="got both lr=0.001 and learning_rate=0.1"):
        optim.Adam(make_params(rng), 0.001, learning_rate=0.1)  # lr given by position


@pytest.mark.parametrize("backend", ["numba", "python", "numpy"])
def test_grad_shape_mismatch_raises_at_step(backend, rng):
    params = make_params(rng)
    opt = optim.Adam(params, backend=backend)
    params[0].grad = np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"gradient of shape \(3, 5\) does not match its "
                                         r"parameter of shape \(5, 3\)"):
        opt.step()


def test_grad_none_is_skipped_and_grads_never_written(rng):
    params = make_params(rng)
    before = params[1].data.copy()
    grads = [rng.standard_normal(p.shape) for p in params]
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    params[1].grad = None
    kept = [g.copy() for g in grads]
    opt = optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1)
    opt.step()
    opt.step()
    np.testing.assert_array_equal(params[1].data, before)
    assert params[1] not in opt.state
    for g, k in zip(grads, kept, strict=True):
        np.testing.assert_array_equal(g, k)


def test_step_returns_closure_loss_and_zero_grad(rng):
    params = make_params(rng)
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad = np.ones(p.shape)
    assert opt.step(lambda: 3.5) == 3.5
    shared = params[0].grad
    opt.zero_grad(set_to_none=False)
    assert np.all(params[0].grad == 0) and np.all(shared == 1)  # a new array: shared untouched
    opt.zero_grad()
    assert all(p.grad is None for p in params)


KERAS_NAMES = [
    (optim.Adam, "beta_1", r"betas=\(beta_1, beta_2\)"),
    (optim.Adam, "beta_2", r"betas=\(beta_1, beta_2\)"),
    (optim.AdamW, "beta_1", r"betas=\(beta_1, beta_2\)"),
    (optim.Lion, "beta_2", r"betas=\(beta_1, beta_2\)"),
    (optim.Adam, "epsilon", "equivalent is eps"),
    (optim.RMSprop, "epsilon", "equivalent is eps"),
    (optim.AdaBelief, "epsilon", "equivalent is eps"),
    (optim.RMSprop, "rho", "equivalent is alpha"),
    (optim.SGD, "decay", "a scheduler from minigrad.optim.lr_scheduler"),
    (optim.Adam, "clipnorm", r"clip_grad_norm_\(params, max_norm\) before step\(\)"),
    (optim.SGD, "clipvalue", r"clip_grad_value_"),
    (optim.Adam, "use_ema", "no equivalent"),
]


@pytest.mark.parametrize("cls, keras_name, hint", KERAS_NAMES)
def test_keras_argument_names_name_the_pytorch_equivalent(cls, keras_name, hint, rng):
    with pytest.raises(TypeError, match=rf"{cls.__name__}: got an unexpected keyword argument "
                                        rf"'{keras_name}', which is Keras' name; .*{hint}"):
        cls(make_params(rng), **{keras_name: 0.9})


def test_other_unknown_arguments_still_raise_pythons_error(rng):
    with pytest.raises(TypeError, match="unexpected keyword argument 'nesterov'"):
        optim.Adam(make_params(rng), nesterov=True)


@pytest.mark.parametrize("cls, defaults", [
    (optim.SGD, dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)),
    (optim.RMSprop, dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                         centered=False)),
    (optim.Adam, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                      decoupled_weight_decay=False)),
    (optim.AdamW, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                       amsgrad=False)),
    (optim.AdaBelief, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                           decoupled_weight_decay=True, amsgrad=False)),
    (optim.Lion, dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0)),
])
def test_signatures_show_the_real_defaults(cls, defaults, rng):
    import inspect
    import pydoc

    parameters = inspect.signature(cls).parameters
    assert {name: parameters[name].default for name in defaults} == defaults
    assert parameters["backend"].default == backends.DEFAULT_BACKEND  # 'numba' but for the env
    assert parameters["learning_rate"].default is None  # the alias: "not given"
    assert "lr=0.001" in pydoc.render_doc(optim.Adam, renderer=pydoc.plaintext)
    group = cls(make_params(rng)).param_groups[0]
    assert {name: group[name] for name in defaults} == defaults


@pytest.mark.parametrize("cls", [optim.SGD, optim.RMSprop, optim.Adam, optim.AdamW,
                                 optim.AdaBelief, optim.Lion])
def test_docstrings_say_where_keras_differs(cls):
    assert "Keras" in cls.__doc__


# A group's hyper-parameters are checked again only when one changed (plan.CheckedSettings):
# every edit made between steps, by the user or a scheduler, is still checked before a write.

EDITS_BETWEEN_STEPS = [
    (optim.SGD, dict(lr=0.1), "lr", -0.1, ValueError, "SGD: invalid learning rate: -0.1"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), "dampening", 0.5, ValueError,
     "zero dampening"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), "nesterov", 1, TypeError,
     "nesterov must be a bool"),  # 1 == True: an equal value of another type is caught too
    (optim.RMSprop, dict(), "alpha", 1.5, ValueError, "invalid alpha value: 1.5"),
    (optim.RMSprop, dict(), "centered", 0, TypeError, "centered must be a bool"),
    (optim.Adam, dict(), "betas", (0.9, 1.0), ValueError, "invalid beta parameter at index 1"),
    (optim.Adam, dict(), "amsgrad", 0, TypeError, "amsgrad must be a bool"),
    (optim.Adam, dict(lr=1), "lr", True, TypeError, "learning rate must be a real number"),
    (optim.AdamW, dict(), "weight_decay", float("nan"), ValueError, "invalid weight_decay"),
    (optim.AdaBelief, dict(), "eps", -1.0, ValueError, "invalid epsilon value"),
    (optim.Lion, dict(), "betas", "0.9", TypeError, "betas must be a pair"),
    (optim.Adam, dict(), "backend", "cuda", ValueError, "unknown backend 'cuda'"),
]


@pytest.mark.parametrize("cls, config, key, value, error, message", EDITS_BETWEEN_STEPS)
def test_a_value_set_between_steps_is_checked_before_any_write(cls, config, key, value, error,
                                                                message, rng):
    params = make_params(rng)
    opt = cls(params, **config)
    for _ in range(2):
        for p in params:
            p.grad = rng.standard_normal(p.shape)
        opt.step()
    opt.param_groups[0][key] = value
    before = [p.data.copy() for p in params]
    with pytest.raises(error, match=message):
        opt.step()
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdaBelief, optim.Lion])
def test_betas_edited_in_place_are_checked_and_used(cls, rng):
    params = make_params(rng)
    twins = [minigrad.Tensor(p.data.copy(), requires_grad=True) for p in params]
    opt, reference = cls(params, betas=[0.9, 0.99]), cls(twins, betas=(0.9, 0.99))
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(3)]
    for t, step in enumerate(grads):
        if t == 1:
            betas = opt.param_groups[0]["betas"]
            betas[1] = 1.5  # the same list, edited in place
            with pytest.raises(ValueError, match="invalid beta parameter at index 1: 1.5"):
                opt.step()
            betas[1] = 0.5
            reference.param_groups[0]["betas"] = (0.9, 0.5)
        for p, twin, g in zip(params, twins, step, strict=True):
            p.grad, twin.grad = g, g.copy()
        opt.step()
        reference.step()
    for p, twin in zip(params, twins, strict=True):
        np.testing.assert_array_equal(p.data, twin.data)


def test_a_group_is_checked_again_only_when_it_changed(rng, monkeypatch):
    params = make_params(rng)
    opt = optim.Adam(params)
    checks = []
    check_group = optim.Adam._check_group
    monkeypatch.setattr(optim.Adam, "_check_group",
                        lambda self, group: checks.append(1) or check_group(self, group))
    group = opt.param_groups[0]
    counts = []
    for t in range(7):
        for p in params:
            p.grad = rng.standard_normal(p.shape)
        if t == 2:
            group["lr"] = 0.5  # replaced (a scheduler does this)
        if t == 4:
            group["lr"] = np.float64(0.5)  # an equal value, another object: checked again
        if t == 5:
            group["extra"] = "note"  # a key added
        opt.step()
        counts.append(len(checks))
    assert counts == [1, 1, 2, 2, 3, 4, 4]


def test_lr_set_between_steps_is_the_lr_used(rng):
    params = make_params(rng)
    start = [p.data.copy() for p in params]
    opt = optim.SGD(params, lr=0.1)
    for lr in (0.1, 0.25, 0.25, 2):
        opt.param_groups[0]["lr"] = lr
        for p in params:
            p.grad = np.ones(p.shape)
        opt.step()
    for p, s in zip(params, start, strict=True):
        np.testing.assert_allclose(p.data, s - (0.1 + 0.25 + 0.25 + 2), rtol=1e-12)
