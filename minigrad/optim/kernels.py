"""The optimizer updates, one plain loop kernel per algorithm: the math and nothing else.

Every kernel takes *tuples* of 1-D contiguous arrays, one entry per tensor (``params[t]``,
``grads[t]``, the state arrays ...), and scalar hyper-parameters already cast to the arrays'
dtype. It updates parameters and state in place and never writes to a gradient. Per-step scalars
(bias corrections, ``1 - beta``) are computed once by the caller, outside the loops, so the loop
body reads like the paper's equations and compiles to tight SIMD code.

Taking tuples lets one Numba call update many small tensors (the per-call dispatch cost, not the
arithmetic, dominates for those). ``backends.py`` runs each kernel three ways: compiled by Numba,
as-is in the interpreter, or as its NumPy-vectorised twin from ``vectorised.py``.

This module imports nothing from minigrad and nothing that needs compiling.
"""

import numpy as np

# The element loops use `prange`. Here (and in Numba's serial build) it is plain `range`;
# backends.py swaps in `numba.prange` for the parallel build used on large tensors.
prange = range

# Each kernel takes its tensors with one assignment per line: numba 0.68's parallel build
# miscompiles `p, g = params[t], grads[t]` ahead of a prange loop (the writes to p are lost).


def sgd(params, grads, momentum_buffers, first_step, lr, weight_decay, momentum,
        one_minus_dampening, nesterov):
    """SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay.

    Sutskever et al., 2013, "On the importance of initialization and momentum in deep learning",
    in PyTorch's formulation: g += wd*p; b = g on the first step, else b = mu*b + (1 - dampening)*g;
    g = g + mu*b if nesterov else b (when mu > 0); p -= lr*g.
    ``momentum_buffers`` is ignored when momentum is 0.
    """
    for t in range(len(params)):
        p = params[t]
        g = grads[t]
        b = momentum_buffers[t]
        for i in prange(p.size):
            d = g[i] + weight_decay * p[i]
            if momentum != 0:
                if first_step:
                    b[i] = d
                else:
                    b[i] = momentum * b[i] + one_minus_dampening * d
                if nesterov:
                    d = d + momentum * b[i]
                else:
                    d = b[i]
            p[i] -= lr * d


def rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffers, centered, lr, alpha,
            one_minus_alpha, eps, weight_decay, momentum):
    """RMSprop, optionally centered and with momentum.

    Tieleman & Hinton, 2012, "Lecture 6.5 - rmsprop" (centered form: Graves, 2013, "Generating
    Sequences With Recurrent Neural Networks"): g += wd*p; v = alpha*v + (1 - alpha)*g^2;
    centered: a = alpha*a + (1 - alpha)*g, denom = sqrt(v - a^2) + eps, else denom = sqrt(v) + eps;
    with momentum b = mu*b + g/denom, p -= lr*b, without p -= lr*g/denom.
    ``grad_avgs`` is ignored unless centered, ``momentum_buffers`` unless momentum > 0.
    """
    for t in range(len(params)):
        p = params[t]
        g = grads[t]
        v = square_avgs[t]
        a = grad_avgs[t]
        b = momentum_buffers[t]
        for i in prange(p.size):
            d = g[i] + weight_decay * p[i]
            v[i] = alpha * v[i] + one_minus_alpha * d * d
            if centered:
                a[i] = alpha * a[i] + one_minus_alpha * d
                denom = np.sqrt(v[i] - a[i] * a[i]) + eps
            else:
                denom = np.sqrt(v[i]) + eps
            if momentum != 0:
                b[i] = momentum * b[i] + d / denom
                p[i] -= lr * b[i]
            else:
                p[i] -= lr * d / denom


def adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, amsgrad, decay, weight_decay,
         step_size, beta1, one_minus_beta1, beta2, one_minus_beta2, eps_hat):
    """Adam and AdamW, with optional AMSGrad.

    Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization"; decoupled weight decay from
    Loshchilov & Hutter, 2019, "Decoupled Weight Decay Regularization"; AMSGrad from Reddi et al.,
    2018, "On the Convergence of Adam and Beyond".
    p *= decay (1 - lr*wd for AdamW, 1 for Adam); g += wd*p (L2, Adam only);
    m = b1*m + (1 - b1)*g; v = b2*v + (1 - b2)*g^2; amsgrad: vmax = max(vmax, v), v -> vmax;
    p -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps), computed as the paper suggests
    (end of its section 2) with one division instead of two, which makes the loop ~20% faster:
    p -= step_size * m / (sqrt(v) + eps_hat), step_size = lr*sqrt(1 - b2^t)/(1 - b1^t) and
    eps_hat = eps*sqrt(1 - b2^t). ``max_exp_avg_sqs`` is ignored unless amsgrad.
    """
    for t in range(len(params)):
        p = params[t]
        g = grads[t]
        m = exp_avgs[t]
        v = exp_avg_sqs[t]
        vmax = max_exp_avg_sqs[t]
        for i in prange(p.size):
            d = g[i] + weight_decay * p[i]
            m[i] = beta1 * m[i] + one_minus_beta1 * d
            v[i] = beta2 * v[i] + one_minus_beta2 * d * d
            v_hat = v[i]
            if amsgrad:
                vmax[i] = max(vmax[i], v_hat)
                v_hat = vmax[i]
            p[i] = decay * p[i] - step_size * m[i] / (np.sqrt(v_hat) + eps_hat)


def adabelief(params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars, amsgrad, decay,
              weight_decay, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
              eps_hat):
    """AdaBelief, with decoupled or L2 weight decay and optional AMSGrad.

    Zhuang et al., 2020, "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
    Gradients": p *= decay (decoupled) or g += wd*p (L2); m = b1*m + (1 - b1)*g;
    s = b2*s + (1 - b2)*(g - m)^2 + eps; amsgrad: smax = max(smax, s), s -> smax;
    p -= lr/(1 - b1^t) * m / (sqrt(s/(1 - b2^t)) + eps), computed with one division (as in
    ``adam``): p -= step_size * m / (sqrt(s) + eps_hat), step_size = lr*sqrt(1 - b2^t)/(1 - b1^t)
    and eps_hat = eps*sqrt(1 - b2^t) (``eps`` itself is the one added to s).
    ``max_exp_avg_vars`` is ignored unless amsgrad.
    """
    for t in range(len(params)):
        p = params[t]
        g = grads[t]
        m = exp_avgs[t]
        s = exp_avg_vars[t]
        smax = max_exp_avg_vars[t]
        for i in prange(p.size):
            d = g[i] + weight_decay * p[i]
            m[i] = beta1 * m[i] + one_minus_beta1 * d
            belief = d - m[i]
            s[i] = beta2 * s[i] + one_minus_beta2 * belief * belief + eps
            s_hat = s[i]
            if amsgrad:
                smax[i] = max(smax[i], s_hat)
                s_hat = smax[i]
            p[i] = decay * p[i] - step_size * m[i] / (np.sqrt(s_hat) + eps_hat)


def lion(params, grads, exp_avgs, decay, lr, beta1, one_minus_beta1, beta2, one_minus_beta2):
    """Lion (EvoLved Sign Momentum).

    Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms":
    p *= 1 - lr*wd; p -= lr*sign(b1*m + (1 - b1)*g); m = b2*m + (1 - b2)*g; sign(0) = 0.
    """
    for t in range(len(params)):
        p = params[t]
        g = grads[t]
        m = exp_avgs[t]
        for i in prange(p.size):
            update = np.sign(beta1 * m[i] + one_minus_beta1 * g[i])
            p[i] = decay * p[i] - lr * update
            m[i] = beta2 * m[i] + one_minus_beta2 * g[i]


def lookahead(params, slow_params, alpha):
    """Lookahead's synchronisation of slow and fast weights.

    Zhang et al., 2019, "Lookahead Optimizer: k steps forward, 1 step back":
    slow += alpha*(fast - slow); fast = slow.
    """
    for t in range(len(params)):
        p = params[t]
        s = slow_params[t]
        for i in prange(p.size):
            s[i] += alpha * (p[i] - s[i])
            p[i] = s[i]
