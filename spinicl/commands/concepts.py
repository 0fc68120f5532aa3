"""Multi-concept word semantics: train the softmax-attention + ReLU-MLP transformer by online SGD.

A reconstruction of Bu et al. (NeurIPS 2024): prompts from a concept-based sparse-coding model,
logistic loss, SGD with fresh prompts every step. Prints the final test error against the
retrieval floor 2^-L, the fitted exponential rate of the 0-1 error, and (with --ood) the four
out-of-distribution scenarios. Writes concepts_TASK.npz/.json into --out (concepts_training for
--task train). Unset options take the defaults of the library function that runs the task
(spinicl.concepts.DEFAULTS, train_concepts, convergence_sweep, sign_symmetry, rate_sweep), and
the library's validators check every value before anything is trained.

  --task train   one training run (default)
  --task sweep   steps to convergence over --lengths x --batches (no L or B requirement)
  --task signs   sign-symmetry diagnostic: correct vs anti attention over seeds per init
  --task rates   fitted exponential rate of the 0-1 error against --parameter at --values

example:
  spinicl concepts --steps 1500 --ood --checkpoint run.ckpt.npz --out results/
"""
from __future__ import annotations

from ._args import add_common, float_list, positive_int_list

COMMAND = "concepts"
HELP = "multi-concept ICL transformer: train by SGD, OOD report, theory checks"
ORDER = 40


TASK_FUNCTIONS = {"train": "train_concepts", "sweep": "convergence_sweep",
                  "signs": "sign_symmetry", "rates": "rate_sweep"}


def add_arguments(p):
    from ..concepts.train import DEFAULTS

    g = p.add_argument_group("dictionary and prompts")
    g.add_argument("--dim", type=int, default=DEFAULTS["dim"],
                   help=f"embedding dimension d (default: {DEFAULTS['dim']})")
    g.add_argument("--concepts", type=int, default=DEFAULTS["n_concepts"],
                   help=f"task concepts K (default: {DEFAULTS['n_concepts']})")
    g.add_argument("--irrelevant", type=int, default=0, help="task-irrelevant concepts K'")
    g.add_argument("--alpha", type=float, default=DEFAULTS["alpha"],
                   help="shared word weight α (> β)")
    g.add_argument("--beta", type=float, default=DEFAULTS["beta"], help="semantic word weight β")
    g.add_argument("--alpha-label", type=float, default=DEFAULTS["alpha_label"],
                   help="shared label weight α'")
    g.add_argument("--beta-label", type=float, default=DEFAULTS["beta_label"],
                   help="semantic label weight β'")
    g.add_argument("--basis", choices=("orthogonal", "near"), default="orthogonal")
    g.add_argument("--basis-seed", type=int, default=DEFAULTS["basis_seed"],
                   help="seed of the dictionary basis")
    g.add_argument("--noise", type=float, default=DEFAULTS["noise"],
                   help=f"feature noise σ (default: {DEFAULTS['noise']:g})")
    g.add_argument("--p-poly", type=float, default=DEFAULTS["p_poly"],
                   help="polysemy probability")
    g.add_argument("--length", type=int, default=DEFAULTS["context_length"],
                   help=f"demonstrations L (default: {DEFAULTS['context_length']})")
    g.add_argument("--pi", type=float_list, default=None, metavar="LIST",
                   help="concept distribution π, e.g. '0.7,0.1,0.1,0.1' (default: uniform)")
    g.add_argument("--tau", type=int, choices=(1, -1), default=1, help="semantic→label map")
    g.add_argument("--label-noise", type=float, default=0.0,
                   help="label flip probability ρ")
    m = p.add_argument_group("model and training")
    m.add_argument("--width", type=int, default=DEFAULTS["width"],
                   help=f"MLP width m (default: {DEFAULTS['width']})")
    m.add_argument("--attention", choices=("separate", "merged"), default="separate")
    m.add_argument("--init", choices=("tied", "gaussian", "zero"), default=DEFAULTS["init"])
    m.add_argument("--init-scale", type=float, default=DEFAULTS["init_scale"],
                   help=f"σ0 (default: {DEFAULTS['init_scale']:g})")
    m.add_argument("--key-reads-label", action="store_true",
                   help="keys also read the label slot (opens an in-weights shortcut)")
    m.add_argument("--self-attention", action="store_true", help="the query attends to itself")
    m.add_argument("--loss", choices=("logistic", "hinge"), default="logistic")
    m.add_argument("--l2", type=float, default=DEFAULTS["l2"],
                   help=f"L2 penalty λ (default: {DEFAULTS['l2']:g})")
    per_task = "(default: the task function's)"
    m.add_argument("--batch", type=int, default=None, help=f"batch size B {per_task}")
    m.add_argument("--lr", type=float, default=None, help=f"learning rate η {per_task}")
    m.add_argument("--steps", type=int, default=None, help=f"SGD steps {per_task}")
    m.add_argument("--log-every", type=int, default=None,
                   help=f"log period in steps {per_task}")
    m.add_argument("--n-test", type=int, default=None,
                   help=f"test prompts per log point {per_task}")
    m.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="checkpoint file (npz); an interrupted run resumes from it")
    m.add_argument("--checkpoint-every", type=int, default=None, metavar="STEPS",
                   help="steps between checkpoint writes (default: train_concepts')")
    t = p.add_argument_group("what to run")
    t.add_argument("--task", choices=("train", "sweep", "signs", "rates"), default="train")
    t.add_argument("--ood", action="store_true", help="track and report the OOD scenarios")
    t.add_argument("--lengths", type=positive_int_list, default=None, metavar="LIST",
                   help="--task sweep: context lengths (default: 1,2,4,8,16)")
    t.add_argument("--batches", type=positive_int_list, default=None, metavar="LIST",
                   help="--task sweep: batch sizes (default: 1,8,64)")
    t.add_argument("--parameter", default="lr",
                   help="--task rates: the parameter to vary (lr, batch_size, dim, n_concepts, "
                        "context_length, noise, p_poly, width, l2, init_scale, alpha, beta)")
    t.add_argument("--values", type=float_list, default=None, metavar="LIST",
                   help="--task rates: its values, e.g. '0.5,1,2'")
    t.add_argument("--seeds", type=int, default=None,
                   help=f"--task sweep/signs/rates: seeds {per_task}")
    add_common(p, out_default="spinicl-concepts")


def _setup(args):
    from ..concepts import default_setup

    return default_setup(
        dim=args.dim, n_concepts=args.concepts, alpha=args.alpha, beta=args.beta,
        alpha_label=args.alpha_label, beta_label=args.beta_label, noise=args.noise,
        p_poly=args.p_poly, context_length=args.length, width=args.width, init=args.init,
        init_scale=args.init_scale, l2=args.l2, basis_seed=args.basis_seed, rng=args.seed,
        dictionary_options={"n_irrelevant": args.irrelevant, "basis": args.basis},
        sampler_options={"concept_probs": None if args.pi is None else tuple(args.pi),
                         "tau": args.tau, "label_noise": args.label_noise},
        model_options={"attention": args.attention, "key_reads_label": args.key_reads_label,
                       "query_self_attention": args.self_attention, "loss": args.loss})


def _given(**values) -> dict:
    """The options the user set; the others keep the task function's defaults."""
    return {k: v for k, v in values.items() if v is not None}


def _save_study(study, out, stem, parameters):
    """Write a theory-check study (a GridResult) as STEM.npz + STEM.json, with the CLI options.

    The npz is the grid result's (``coord_<dim>`` per coordinate, a variable per name); the
    JSON record gains the command line's options under ``cli``.
    """
    import json

    from .._io import save_json_atomic

    files = study.save(out, stem)
    record = json.loads(files["json"].read_text())
    record["cli"] = parameters
    save_json_atomic(files["json"], record)
    return [files["npz"], files["json"]]


def run(args) -> int:
    from ..concepts import train_concepts
    from ..concepts.ood import evaluate_ood, ood_variants
    from ..concepts.theory_checks import (convergence_sweep, fit_training_rate, rate_sweep,
                                          sign_symmetry)

    _, sampler, model = _setup(args)      # validates every option before anything long runs
    common = dict(dim=args.dim, n_concepts=args.concepts, alpha=args.alpha, beta=args.beta,
                  noise=args.noise, p_poly=args.p_poly, width=args.width, l2=args.l2)
    parameters = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    progress = not args.quiet
    if args.task == "sweep":
        options = _given(context_lengths=args.lengths, batch_sizes=args.batches,
                         steps=args.steps, n_seeds=args.seeds, n_test=args.n_test, lr=args.lr,
                         log_every=args.log_every)
        study = convergence_sweep(rng=args.seed, progress=progress, **options, **common)
    elif args.task == "rates":
        if args.values is None:
            raise ValueError("--task rates needs --values")
        rest = {k: v for k, v in common.items() if k != args.parameter}
        if args.parameter != "context_length":
            rest["context_length"] = args.length
        train_kw = {k: v for k, v in _given(lr=args.lr, batch_size=args.batch).items()
                    if k != args.parameter}
        study = rate_sweep(args.parameter, args.values, rng=args.seed, progress=progress,
                           **_given(steps=args.steps, n_seeds=args.seeds,
                                    log_every=args.log_every, n_test=args.n_test),
                           **train_kw, **rest)
    elif args.task == "signs":
        study = sign_symmetry(("tied", "gaussian"), attention=args.attention, rng=args.seed,
                              progress=progress, context_length=args.length,
                              **_given(n_seeds=args.seeds, steps=args.steps, n_test=args.n_test,
                                       lr=args.lr), **common)
    if args.task != "train":
        print(study)
        for path in _save_study(study, args.out, f"concepts_{args.task}", parameters):
            print(f"wrote {path}")
        return 0
    tests = {"test": sampler}
    variants = ood_variants(sampler) if args.ood else []
    for v in variants[1:]:
        tests[v.name] = v.sampler(sampler)
    result = train_concepts(model, sampler, test_samplers=tests, checkpoint=args.checkpoint,
                            rng=args.seed, progress=progress,
                            **_given(steps=args.steps, batch_size=args.batch, lr=args.lr,
                                     log_every=args.log_every, n_test=args.n_test,
                                     checkpoint_every=args.checkpoint_every))
    fit = fit_training_rate(result)
    extra = {"exponential_fit": {"rate": fit.rate, "rate_ci": list(fit.rate_ci),
                                 "ce_rate": fit.reference_rate, "converged": fit.converged}}
    print(result)
    print(f"test error {result.final('test.error'):.4g} "
          f"[{result.final('test.error_lo'):.4g}, {result.final('test.error_hi'):.4g}], "
          f"retrieval floor {result.floors['test']:.4g}, correct attention "
          f"{result.final('test.attention'):.4f}")
    print(f"0-1 error {fit!r}")
    if args.ood:
        report = evaluate_ood(model, sampler, variants, n_test=max(args.n_test or 0, 4000),
                              rng=args.seed)
        print(report.table())
        extra["ood_report"] = report.rows
    for path in result.save(args.out, extra=extra).values():
        print(f"wrote {path}")
    return 0
