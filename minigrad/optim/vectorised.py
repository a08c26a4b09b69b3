"""The kernels of ``kernels.py`` vectorised with NumPy: the 'numpy' backend.

Same signatures, same arithmetic in the same order (so the backends agree to rounding), whole
arrays at a time, in place where NumPy allows. The temporaries NumPy allocates for compound
expressions are exactly the cost the Numba backend removes.
"""

import numpy as np


def sgd(params, grads, momentum_buffers, first_step, lr, weight_decay, momentum,
        one_minus_dampening, nesterov):
    """Vectorised ``kernels.sgd``."""
    for p, g, b in zip(params, grads, momentum_buffers, strict=True):
        d = g + weight_decay * p
        if momentum != 0:
            if first_step:
                b[...] = d
            else:
                b *= momentum
                b += one_minus_dampening * d
            d = d + momentum * b if nesterov else b
        p -= lr * d


def rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffers, centered, lr, alpha,
            one_minus_alpha, eps, weight_decay, momentum):
    """Vectorised ``kernels.rmsprop``."""
    for p, g, v, a, b in zip(params, grads, square_avgs, grad_avgs, momentum_buffers, strict=True):
        d = g + weight_decay * p
        v *= alpha
        v += one_minus_alpha * d * d
        if centered:
            a *= alpha
            a += one_minus_alpha * d
            denom = np.sqrt(v - a * a) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum != 0:
            b *= momentum
            b += d / denom
            p -= lr * b
        else:
            p -= lr * d / denom


def adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, amsgrad, decay, weight_decay,
         step_size, beta1, one_minus_beta1, beta2, one_minus_beta2, eps_hat):
    """Vectorised ``kernels.adam``."""
    for p, g, m, v, vmax in zip(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                strict=True):
        d = g + weight_decay * p
        m *= beta1
        m += one_minus_beta1 * d
        v *= beta2
        v += one_minus_beta2 * d * d
        v_hat = v
        if amsgrad:
            np.maximum(vmax, v, out=vmax)
            v_hat = vmax
        p *= decay
        p -= step_size * m / (np.sqrt(v_hat) + eps_hat)


def adabelief(params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars, amsgrad, decay,
              weight_decay, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
              eps_hat):
    """Vectorised ``kernels.adabelief``."""
    for p, g, m, s, smax in zip(params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars,
                                strict=True):
        d = g + weight_decay * p
        m *= beta1
        m += one_minus_beta1 * d
        belief = d - m
        s *= beta2
        s += one_minus_beta2 * belief * belief
        s += eps
        s_hat = s
        if amsgrad:
            np.maximum(smax, s, out=smax)
            s_hat = smax
        p *= decay
        p -= step_size * m / (np.sqrt(s_hat) + eps_hat)


def lion(params, grads, exp_avgs, decay, lr, beta1, one_minus_beta1, beta2, one_minus_beta2):
    """Vectorised ``kernels.lion``."""
    for p, g, m in zip(params, grads, exp_avgs, strict=True):
        update = np.sign(beta1 * m + one_minus_beta1 * g)
        p *= decay
        p -= lr * update
        m *= beta2
        m += one_minus_beta2 * g


def lookahead(params, slow_params, alpha):
    """Vectorised ``kernels.lookahead``."""
    for p, s in zip(params, slow_params, strict=True):
        s += alpha * (p - s)
        p[...] = s
