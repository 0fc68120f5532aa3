"""Train an attention model on in-context regression prompts (numpy, no DL framework).

Draws P training prompts (one fresh task each, or a pool of --n-tasks), trains the model and
writes train.npz (trained parameters, merged W, history) and train.json (every setting, seed and
package versions). A run with --checkpoint resumes where a killed run stopped. The exit code is
1 when the run diverged or did not meet its convergence criterion (--tol/--rtol; the default is a
gradient norm 1e-6 times its initial value); mini-batch and online runs, whose gradient on the
training prompts does not vanish, need a --tol that suits their noise.

examples:
  spinicl train --model merged --dim 20 --context-length 100 --prompts 1000 --lr 0.01 --steps 3000
  spinicl train --model separate --dim 10 --prompts 200 --optimizer sgd --lr 0.05 --momentum 0.9
  spinicl train --dim 8 --context-length 16 --prompts 4096 --n-tasks 32 --label-noise 0.5 \\
      --batch-size 256 --online --tol 1
"""
from __future__ import annotations

from ._args import (CommandFailed, add_common, non_negative_float, positive_float,
                    positive_int, python_default)

# The CLI's own learning rate: at the CLI defaults (D = 10, N = 100, P = 1000, 1000 Adam steps)
# lr = 1e-2 reaches the minimum (gradient norm ~1e-15) while train()'s lr = 1e-3 stops far from it
# (gradient norm 0.24, test loss 0.26 against 0.12).
CLI_LR = 1e-2

COMMAND = "train"
HELP = "train a linear/softmax attention model with Adam/AdamW/SGD and save weights + history"
ORDER = 30


def add_arguments(p):
    from ..training import train
    from ..training.models import MODELS
    from ..training.optimizers import OPTIMIZERS

    def default(name):
        return python_default(train, name)

    p.add_argument("--model", default="merged", choices=sorted(MODELS),
                   help="architecture (default: merged)")
    p.add_argument("--dim", type=positive_int, default=10, help="input dimension D (default: 10)")
    p.add_argument("--context-length", type=positive_int, default=100, help="N (default: 100)")
    p.add_argument("--prompts", type=positive_int, default=1000,
                   help="training prompts P (default: 1000)")
    p.add_argument("--n-tasks", type=positive_int, default=None,
                   help="task-pool size k (default: a fresh task per prompt)")
    p.add_argument("--label-noise", type=non_negative_float, default=0.0,
                   help="label noise std (default: 0)")
    p.add_argument("--test-prompts", type=positive_int, default=1000,
                   help="test prompts on fresh tasks (default: 1000)")
    p.add_argument("--optimizer", default=default("optimizer"), choices=sorted(OPTIMIZERS),
                   help=f"optimiser (default: {default('optimizer')})")
    p.add_argument("--lr", type=positive_float, default=CLI_LR,
                   help=f"learning rate (default: {CLI_LR:g}; train() defaults to "
                        f"{default('lr'):g}, too small to converge at these sizes)")
    p.add_argument("--steps", type=positive_int, default=default("steps"),
                   help=f"optimiser steps (default: {default('steps')})")
    p.add_argument("--weight-decay", type=non_negative_float, default=default("weight_decay"),
                   help="weight decay (coupled for adam/sgd: lambda0 = wd/2) (default: 0)")
    p.add_argument("--momentum", type=non_negative_float, default=None, help="SGD momentum")
    p.add_argument("--batch-size", type=positive_int, default=default("batch_size"),
                   help="mini-batch size (default: full)")
    p.add_argument("--online", action="store_true", help="fresh prompts every step")
    p.add_argument("--schedule", default=default("schedule"),
                   choices=("constant", "linear", "cosine"))
    p.add_argument("--tol", type=non_negative_float, default=default("tol"),
                   help="converged when the final gradient norm is <= TOL (default: none)")
    p.add_argument("--rtol", type=non_negative_float, default=default("rtol"),
                   help="converged when the final gradient norm is <= RTOL x the initial one "
                        "(default: 1e-6 when neither --tol nor --rtol is given)")
    p.add_argument("--eval-every", type=positive_int, default=default("eval_every"),
                   help="steps between evaluations")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="checkpoint file: resume a killed run from here")
    p.add_argument("--checkpoint-every", type=positive_int, metavar="STEPS",
                   default=default("checkpoint_every"),
                   help="steps between checkpoint writes (default: train()'s choice)")
    add_common(p, out_default="spinicl-train")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from .._io import run_record, save_json_atomic, save_npz_atomic
    from ..prompts import sample_prompts
    from ..training import train
    from ..training.loop import equivalent_l2

    seed = np.random.SeedSequence(args.seed)
    data_seed, train_seed = seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    prompts = sample_prompts(args.dim, args.context_length, args.prompts, n_tasks=args.n_tasks,
                             label_noise=args.label_noise, rng=rng)
    test = prompts.fresh_test(args.test_prompts, rng=rng)
    options = {}
    if args.momentum is not None:
        if args.optimizer != "sgd":
            raise ValueError("--momentum applies to --optimizer sgd only")
        options["momentum"] = args.momentum
    result = train(args.model, prompts, optimizer=args.optimizer, lr=args.lr, steps=args.steps,
                   weight_decay=args.weight_decay, optimizer_options=options,
                   batch_size=args.batch_size, online=args.online, schedule=args.schedule,
                   rng=train_seed, eval_prompts=test, eval_every=args.eval_every,
                   tol=args.tol, rtol=args.rtol,
                   progress=not args.quiet, checkpoint=args.checkpoint,
                   checkpoint_every=args.checkpoint_every)
    out = Path(args.out)
    arrays = {f"param/{k}": v for k, v in result.params.items()}
    arrays.update({f"history/{k}": v for k, v in result.history.as_arrays().items()})
    if result.mean_weights is not None:
        arrays["weights"] = result.mean_weights
    npz = save_npz_atomic(out / "train.npz", **arrays)
    parameters = {k: v for k, v in vars(args).items() if not callable(v)}
    summary = {"test_loss": result.test_loss, "train_loss": result.train_loss,
               "converged": result.converged, "diverged": result.diverged,
               "n_iter": result.n_iter, "message": result.message,
               "final_grad_norm": result.final_grad_norm}
    if args.optimizer != "adamw":
        summary["equivalent_l2"] = equivalent_l2(args.weight_decay, optimizer=args.optimizer)
    js = save_json_atomic(out / "train.json", run_record("train", parameters, result=summary,
                                                         files={"data": npz.name}))
    print(result)
    print(f"wrote {npz}\nwrote {js}")
    if result.diverged:
        raise CommandFailed(f"training diverged: {result.message}")
    if not result.converged:
        # The outputs are written (they show how far the run got); the exit code says it is
        # not at the minimum, as for every other command that iterates.
        raise CommandFailed(result.message)
    return 0
