"""Keras' argument names, each with what to write instead in minigrad (PyTorch's names).

Many optimizer guides use Keras; ``Adam(params, beta_1=0.9)`` then gets a TypeError that says
``betas=(beta_1, beta_2)`` instead of a bare "unexpected keyword argument".
"""

HINTS = {
    "beta_1": "betas=(beta_1, beta_2)",
    "beta_2": "betas=(beta_1, beta_2)",
    "epsilon": "eps",
    "rho": "alpha (RMSprop's smoothing constant)",
    "decay": ("a scheduler from minigrad.optim.lr_scheduler (Keras' decay was a learning-rate "
              "decay; for weight decay use weight_decay)"),
    "clipnorm": "minigrad.nn.utils.clip_grad_norm_(params, max_norm) before step()",
    "global_clipnorm": "minigrad.nn.utils.clip_grad_norm_(params, max_norm) before step()",
    "clipvalue": "minigrad.nn.utils.clip_grad_value_(params, clip_value) before step()",
    "use_ema": "no equivalent in minigrad.optim",
    "ema_momentum": "no equivalent in minigrad.optim",
    "ema_overwrite_frequency": "no equivalent in minigrad.optim",
    "loss_scale_factor": "no equivalent in minigrad.optim",
    "gradient_accumulation_steps": "no equivalent in minigrad.optim",
}


def check_argument_names(owner, accepted, given):
    """Raise TypeError for a Keras argument name in ``given`` that ``owner`` does not accept."""
    for name in given:
        if name in HINTS and name not in accepted:
            raise TypeError(f"{owner}: got an unexpected keyword argument {name!r}, which is "
                            f"Keras' name; PyTorch's and minigrad's equivalent is {HINTS[name]}")
