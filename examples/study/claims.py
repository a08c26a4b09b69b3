"""The optimizer guide's eight claims, each split into testable parts and judged by fixed rules.

The rules were fixed before the runs; the report prints them:

- Compare two optimizers on one task seed by seed: a seed gives both the same initial weights,
  data and batch order, so the differences d between their results on the same seed are the
  measurement. One *beats* the other when the mean of d is in its favour and exceeds twice its
  standard error, sd(d)/sqrt(n); otherwise they *tie*. Widths of good learning-rate ranges
  (one number per optimizer and task) differ when they differ by at least half a decade, one
  grid step. Seed spreads (standard deviations over the seeds) differ when one is at most half
  the other.
- A part that is tested on many tasks gets, per task, +1 (the claim holds there), -1 (the
  opposite holds) or 0 (neither). It is *supported* when it holds on at least two thirds of the
  tasks and the opposite holds on at most one; *not supported* when it holds on at most a third
  of them or the opposite holds on at least a third; *mixed* otherwise.
- A part tested once (one task, one measurement) is supported when the claimed effect is there
  by the rule above, not supported when it is not.
- A claim is supported when all its tested parts are, not supported when none is, mixed
  otherwise. Parts that cannot be tested here are listed and left out of the verdict.
"""

import math

import numpy as np

from .plan import GOOD, OPTIMIZERS

SUPPORTED, NOT_SUPPORTED, MIXED = "supported", "not supported", "mixed"
ADAPTIVE = ("rmsprop", "adam", "adamw", "adabelief", "lion", "lookahead")
SGD_FAMILY = ("sgd", "momentum", "nesterov")
ADAM_LIKE = ("adam", "adamw", "adabelief", "lookahead")

CLAIMS = [
    ("adam", "Adam: adaptive learning rates make it converge quickly early in training and make "
             "tuning easy; it may overfit in long training. The default choice in most "
             "situations."),
    ("adamw", "AdamW: weight decay strengthens regularisation; it prevents overfitting better."),
    ("adabelief", "AdaBelief: reflects the gradient's variance (curvature) to stabilise the "
                  "learning rate; mitigates overfitting and instability."),
    ("lookahead", "Lookahead: fast exploration plus slow consolidation; fast early and stable "
                  "late."),
    ("sgd", "SGD: simple, but slow and unstable convergence. Momentum: faster convergence, can "
            "escape local minima. Nesterov: more efficient than momentum."),
    ("rmsprop", "RMSProp: adaptive learning rate; especially effective for recurrent networks "
                "(RNN, LSTM)."),
    ("lion", "Lion: efficient (little computation), robust to large gradients without gradient "
             "clipping; for large models."),
    ("drawbacks", "Drawbacks: some learning rates are hard to find; Adam-like methods use extra "
                  "memory; adaptive rates set wrongly make training unstable."),
]


# ------------------------------------------------------------------------------ the rules
def compare(a, b):
    """+1 if summary ``a`` beats (is lower than) ``b``, -1 if ``b`` beats ``a``, 0 for a tie.

    Both summaries hold one value per seed, in the same seed order: the test is on the
    seed-by-seed differences (see the module docstring).
    """
    d = np.subtract(a["values"], b["values"])
    gap = float(d.mean())
    error = float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else 0.0
    if gap == 0 or abs(gap) <= 2 * error:
        return 0
    return 1 if gap < 0 else -1


def compare_width(a, b):
    """+1 if width ``a`` is at least half a decade wider than ``b``, -1 if narrower, else 0."""
    return 1 if a >= b + 0.5 else -1 if b >= a + 0.5 else 0


def compare_spread(a, b):
    """+1 if spread ``a`` is at most half of ``b`` (steadier), -1 if at least double, else 0."""
    return 1 if a <= b / 2 else -1 if a >= 2 * b else 0


def tally(outcomes):
    """The verdict of a part tested on many tasks, from its +1/0/-1 outcomes."""
    n = len(outcomes)
    holds, against = outcomes.count(1), outcomes.count(-1)
    if n == 0:
        return None
    if holds >= 2 * n / 3 and against <= 1:
        return SUPPORTED
    if holds <= n / 3 or against >= n / 3:
        return NOT_SUPPORTED
    return MIXED


def once(outcome):
    """The verdict of a part tested once: the claimed effect is there (+1) or not."""
    return SUPPORTED if outcome == 1 else NOT_SUPPORTED


def combine(parts):
    """A claim's verdict from its parts' verdicts (parts without one are left out)."""
    verdicts = [p["verdict"] for p in parts.values() if p.get("verdict")]
    if verdicts and all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    if verdicts and all(v == NOT_SUPPORTED for v in verdicts):
        return NOT_SUPPORTED
    return MIXED


def per_task(outcomes, **details):
    """A many-task part: its outcomes by task, the counts, the verdict, and supporting numbers."""
    values = list(outcomes.values())
    return {"outcomes": outcomes, "holds": values.count(1), "against": values.count(-1),
            "tasks": len(values), "verdict": tally(values), **details}


# ------------------------------------------------------------------------------ the claims
class Judge:
    """Reads the study's results and judges every claim."""

    def __init__(self, results):
        self.r = results
        self.tasks = results["tasks"]
        self.tuning, self.evaluation = results["tuning"], results["evaluation"]
        self.main = [t for t in self.tasks if t not in ("overfit", "exploding", "exploding-clip")]
        self.recurrent = [t for t in self.main if self.tasks[t]["family"] == "recurrent"]
        self.feed_forward = [t for t in self.main if self.tasks[t]["family"] == "feed-forward"]

    def best(self, task, optimizer, metric="final"):
        return self.evaluation[task][optimizer]["best"][metric]

    def width(self, task, optimizer):
        return self.tuning[task][optimizer]["width"]

    def good_threshold(self, task):
        """The score a run must reach to count as good on ``task`` (see plan.GOOD)."""
        trivial = self.tasks[task]["trivial"]
        best = min(self.best(task, o)["mean"] for o in self.evaluation[task])
        return trivial - GOOD * (trivial - best)

    def ranks(self, task):
        """Each optimizer's rank (1 = lowest mean final loss at its best rate) on ``task``."""
        order = sorted(OPTIMIZERS, key=lambda o: self.best(task, o)["mean"])
        return {o: order.index(o) + 1 for o in OPTIMIZERS}

    def judge(self):
        """Every claim as {"id", "claim", "verdict", "evidence"}."""
        out = []
        for claim_id, text in CLAIMS:
            parts = getattr(self, f"claim_{claim_id}")()
            evidence = {name: part for name, part in parts.items()}
            out.append({"id": claim_id, "claim": text, "verdict": combine(parts),
                        "evidence": evidence})
        return out

    # ------------------------------------------------------------------ 1. Adam
    def claim_adam(self):
        early = {}
        for t in self.main:
            a = self.best(t, "adam", "early")
            vs = [compare(a, self.best(t, o, "early")) for o in ("sgd", "momentum")]
            early[t] = 1 if all(v == 1 for v in vs) else -1 if -1 in vs else 0
        easy = {t: compare_width(self.width(t, "adam"),
                                 float(np.mean([self.width(t, o) for o in SGD_FAMILY])))
                for t in self.main}
        default = {}
        for t in self.main:
            at_default = self.evaluation[t]["adam"]["default"]["final"]["mean"]
            default[t] = 1 if at_default <= self.good_threshold(t) else -1
        parts = {
            "fast_early": per_task(early, test="early loss (mean training loss over the first "
                                               "fifth) at the best rate: Adam beats SGD and "
                                               "SGD+momentum"),
            "easy_tuning": per_task(easy, test="width of the good learning-rate range: Adam vs "
                                               "the mean of SGD, momentum and Nesterov",
                                    widths={t: {"adam": self.width(t, "adam"),
                                                **{o: self.width(t, o) for o in SGD_FAMILY}}
                                            for t in self.main}),
            "default_choice": per_task(default, test="Adam at its default rate (1e-3) reaches "
                                                     "the task's good level",
                                       adam_rank={t: self.ranks(t)["adam"] for t in self.main}),
        }
        if "overfit" in self.evaluation:
            adam = self.evaluation["overfit"]["adam"]["best"]
            sgd = self.evaluation["overfit"]["momentum"]["best"]
            rises = compare({"values": [0.0] * adam["rise"]["n"]}, adam["rise"])
            more = compare(sgd["rise"], adam["rise"])
            verdict = NOT_SUPPORTED if rises != 1 else SUPPORTED if more == 1 else MIXED
            parts["overfits_long"] = {
                "test": "overfit task: Adam's held-out loss rises from its lowest point by the "
                        "end (more than noise), and more than SGD+momentum's",
                "adam_rise": adam["rise"], "momentum_rise": sgd["rise"], "verdict": verdict}
        return parts

    # ------------------------------------------------------------------ 2. AdamW
    def claim_adamw(self):
        parts = {}
        across = {t: compare(self.best(t, "adamw"), self.best(t, "adam")) for t in self.main}
        decay = self.r.get("decay", {})
        if decay:
            adam = self.evaluation["overfit"]["adam"]["best"]
            by_decay = {"0 (Adam)": adam, "0.01": decay["adamw"], "0.1": decay["adamw-wd0.1"],
                        "1": decay["adamw-wd1"]}
            parts["decay_regularises"] = {
                "test": "overfit task, all at Adam's best rate: the gap between held-out and "
                        "training loss at the end with AdamW's strongest decay (1) is below "
                        "Adam's (none)",
                "gap": {k: v["gap"] for k, v in by_decay.items()},
                "end": {k: v["end"] for k, v in by_decay.items()},
                "verdict": once(compare(by_decay["1"]["gap"], adam["gap"]))}
            best_adamw = min(("0.01", "0.1", "1"), key=lambda k: by_decay[k]["end"]["mean"])
            l2 = {"1e-4": decay["adam-l2-1e-4"], "1e-3": decay["adam-l2-1e-3"]}
            best_l2 = min(l2, key=lambda k: l2[k]["end"]["mean"])
            vs = [compare(by_decay[best_adamw]["end"], adam["end"]),
                  compare(by_decay[best_adamw]["end"], l2[best_l2]["end"])]
            parts["prevents_overfitting_better"] = {
                "test": "overfit task: held-out loss at the end of training with the best "
                        "AdamW decay beats Adam without decay and Adam with its best L2 penalty",
                "best_adamw_decay": best_adamw, "best_l2": best_l2,
                "l2_end": {k: v["end"] for k, v in l2.items()},
                "verdict": SUPPORTED if vs == [1, 1] else NOT_SUPPORTED if 1 not in vs
                else MIXED}
        parts["default_decay_across_tasks"] = {
            "test": "AdamW (decay 0.01) vs Adam, each at its best rate, on the main tasks "
                    "(reported, not part of the verdict)",
            "outcomes": across}
        return parts

    # ------------------------------------------------------------------ 3. AdaBelief
    def claim_adabelief(self):
        parts = {
            "stable_learning_rate": per_task(
                {t: compare_width(self.width(t, "adabelief"), self.width(t, "adam"))
                 for t in self.main},
                test="width of the good learning-rate range: AdaBelief vs Adam"),
            "less_instability": per_task(
                {t: compare_spread(self.best(t, "adabelief")["std"], self.best(t, "adam")["std"])
                 for t in self.main},
                test="seed spread (std over seeds) of the final loss: AdaBelief vs Adam"),
        }
        if "overfit" in self.evaluation:
            ab = self.evaluation["overfit"]["adabelief"]["best"]
            adam = self.evaluation["overfit"]["adam"]["best"]
            parts["less_overfitting"] = {
                "test": "overfit task: AdaBelief's held-out rise is below Adam's",
                "adabelief_rise": ab["rise"], "adam_rise": adam["rise"],
                "verdict": once(compare(ab["rise"], adam["rise"]))}
        return parts

    # ------------------------------------------------------------------ 4. Lookahead
    def claim_lookahead(self):
        early, late = {}, {}
        for t in self.main:
            e = compare(self.best(t, "lookahead", "early"), self.best(t, "adam", "early"))
            early[t] = -1 if e == -1 else 1
            final = compare(self.best(t, "lookahead"), self.best(t, "adam"))
            spread = compare_spread(self.best(t, "lookahead")["std"], self.best(t, "adam")["std"])
            late[t] = 1 if 1 in (final, spread) else -1 if -1 in (final, spread) else 0
        return {
            "fast_early": per_task(early, test="early loss at the best rate: Lookahead(Adam) "
                                               "not worse than Adam alone"),
            "stable_late": per_task(late, test="final loss better than Adam's, or seed spread "
                                               "at most half of Adam's (against: worse, or "
                                               "double)"),
        }

    # ------------------------------------------------------------------ 5. SGD family
    def claim_sgd(self):
        slow, unstable, momentum, nesterov = {}, {}, {}, {}
        for t in self.main:
            vs = [compare(self.best(t, o, "auc"), self.best(t, "sgd", "auc"))
                  for o in ("momentum", "adam")]
            slow[t] = 1 if all(v == 1 for v in vs) else -1 if -1 in vs else 0
            others = float(np.median([self.best(t, o)["std"] for o in OPTIMIZERS if o != "sgd"]))
            unstable[t] = -compare_spread(self.best(t, "sgd")["std"], others)
            momentum[t] = compare(self.best(t, "momentum", "auc"), self.best(t, "sgd", "auc"))
            nesterov[t] = compare(self.best(t, "nesterov", "auc"),
                                  self.best(t, "momentum", "auc"))
        parts = {
            "sgd_slow": per_task(slow, test="mean training loss over the run (lower = faster) "
                                            "at the best rate: SGD worse than momentum and Adam"),
            "sgd_unstable": per_task(unstable, test="SGD's seed spread at least double the "
                                                    "median of the other eight"),
            "momentum_faster": per_task(momentum, test="mean training loss over the run: "
                                                       "momentum beats SGD"),
            "nesterov_more_efficient": per_task(nesterov, test="mean training loss over the run:"
                                                               " Nesterov beats momentum"),
        }
        escape = self.r.get("escape")
        if escape:
            outcomes = {}
            for amplitude, rows in escape.items():
                outcomes[amplitude] = _proportion_compare(rows["momentum"], rows["sgd"])
            parts["momentum_escapes"] = per_task(
                outcomes, test="Rastrigin with local minima of amplitude A, many random starts: "
                               "share of runs ending in the global minimum's basin, momentum vs "
                               "SGD, each at its best rate (chosen on other starts)",
                shares={a: {o: rows[o]["share"] for o in rows} for a, rows in escape.items()})
        return parts

    # ------------------------------------------------------------------ 6. RMSprop
    def claim_rmsprop(self):
        effective = {}
        for t in self.recurrent:
            vs = [compare(self.best(t, "rmsprop"), self.best(t, o)) for o in ("sgd", "momentum")]
            effective[t] = 1 if all(v == 1 for v in vs) else -1 if -1 in vs else 0
        rank_rnn = float(np.mean([self.ranks(t)["rmsprop"] for t in self.recurrent]))
        rank_ff = float(np.mean([self.ranks(t)["rmsprop"] for t in self.feed_forward]))
        especially = SUPPORTED if rank_rnn <= rank_ff - 1 else NOT_SUPPORTED \
            if rank_rnn >= rank_ff else MIXED
        return {
            "effective_on_rnns": per_task(effective, test="final loss at the best rate on the "
                                                          "recurrent tasks: RMSprop beats SGD "
                                                          "and SGD+momentum"),
            "especially_rnns": {"test": "RMSprop's mean rank among the nine on recurrent tasks "
                                        "is at least one place better than on feed-forward ones",
                                "rank_recurrent": rank_rnn, "rank_feed_forward": rank_ff,
                                "ranks": {t: self.ranks(t)["rmsprop"] for t in self.main},
                                "verdict": especially},
        }

    # ------------------------------------------------------------------ 7. Lion
    def claim_lion(self):
        memory = self.r["memory"]
        time_ratio = memory["lion"]["step_ns_per_element"] / memory["adam"]["step_ns_per_element"]
        lighter = memory["lion"]["traced"] < memory["adam"]["traced"]
        parts = {"little_computation": {
            "test": "measured step time per element (serial Numba, one 1M-element float32 "
                    "tensor) at most 0.9x Adam's, and less state than Adam",
            "time_ratio_vs_adam": time_ratio,
            "state_bytes": {o: memory[o]["traced"] for o in ("lion", "adam")},
            "verdict": SUPPORTED if time_ratio <= 0.9 and lighter else NOT_SUPPORTED
            if time_ratio >= 1.1 or not lighter else MIXED}}
        if "exploding" in self.evaluation and "exploding-clip" in self.evaluation:
            free, clipped = self.evaluation["exploding"], self.evaluation["exploding-clip"]
            robust = {o: -1 if compare(free[o]["best"]["final"],
                                       clipped[o]["best"]["final"]) == -1 else 1
                      for o in clipped}
            parts["robust_without_clipping"] = {
                "test": "exploding-gradient task: Lion without clipping is not worse than Lion "
                        "with clipping (others shown for comparison)",
                "without_clipping": {o: free[o]["best"]["final"] for o in clipped},
                "with_clipping": {o: clipped[o]["best"]["final"] for o in clipped},
                "not_worse_without_clipping": robust,
                "grad_norm_max": {o: free[o]["best"].get("grad_norm_max") for o in clipped},
                "verdict": once(robust["lion"])}
        largest = max(t["parameters"] for t in self.tasks.values())
        parts["large_models"] = {"test": f"not tested: the largest model here has {largest:,} "
                                         "parameters (a 2-core machine)", "verdict": None}
        return parts

    # ------------------------------------------------------------------ 8. drawbacks
    def claim_drawbacks(self):
        spans = {}
        for o in OPTIMIZERS:
            logs = [math.log10(self.tuning[t][o]["best_lr"]) for t in self.main]
            spans[o] = max(logs) - min(logs)
        hard = sum(span >= 1.0 for span in spans.values())
        memory = self.r["memory"]
        extra = {o: memory[o]["traced"] for o in OPTIMIZERS}
        heavier = all(extra[o] > extra["momentum"] for o in ADAM_LIKE)
        failures = self.failures_at_multiple(10.0)
        adaptive_rate = _rate([failures[o] for o in ADAPTIVE])
        sgd_rate = _rate([failures[o] for o in SGD_FAMILY])
        return {
            "rates_hard_to_find": {
                "test": "for at least two thirds of the optimizers, the best rate moves by a "
                        "decade or more between the main tasks (no one rate serves)",
                "best_lr_span_decades": spans, "optimizers_spanning_a_decade": hard,
                "verdict": SUPPORTED if hard >= 2 * len(OPTIMIZERS) / 3 else NOT_SUPPORTED
                if hard <= len(OPTIMIZERS) / 3 else MIXED},
            "adam_like_memory": {
                "test": "measured bytes held per parameter: Adam, AdamW, AdaBelief and "
                        "Lookahead each hold more than SGD with momentum",
                "bytes_per_parameter": extra,
                "verdict": SUPPORTED if heavier else NOT_SUPPORTED},
            "wrong_adaptive_rates_unstable": {
                "test": "runs at 10x the best rate (main tasks, tuning seeds) that diverge or "
                        "end no better than the trivial loss: at least half, for the adaptive "
                        "optimizers (the SGD family shown for comparison)",
                "failed_at_10x": {o: failures[o] for o in OPTIMIZERS},
                "adaptive_failure_rate": adaptive_rate, "sgd_family_failure_rate": sgd_rate,
                "verdict": SUPPORTED if adaptive_rate >= 0.5 else NOT_SUPPORTED},
        }

    def failures_at_multiple(self, multiple):
        """Per optimizer, [failed, runs] at ``multiple`` x the best rate, where the grid has it.

        A run fails when it diverges or ends no better than the trivial loss.
        """
        runs = len(self.r["config"]["tuning_seeds"])
        out = {o: [0, 0] for o in OPTIMIZERS}
        for t in self.main:
            for o in OPTIMIZERS:
                tuned = self.tuning[t][o]
                target = math.log10(tuned["best_lr"] * multiple)
                for lr, failed in zip(tuned["lrs"], tuned["failed"]):
                    if abs(math.log10(lr) - target) < 1e-6:
                        out[o][0] += failed
                        out[o][1] += runs
        return out


def _rate(pairs):
    failed, total = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    return failed / total if total else float("nan")


def _proportion_compare(a, b):
    """+1 if share ``a`` beats ``b`` by more than twice the standard error, -1 if below, else 0."""
    pa, pb, n = a["share"], b["share"], a["starts"]
    error = math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n)
    gap = pa - pb
    if abs(gap) <= 2 * error or gap == 0:
        return 0
    return 1 if gap > 0 else -1
