"""Command line: ``python -m sae_sklearn demo``."""

import argparse

from ._demo import run_demo


def main(argv=None) -> int:
    """Run the command line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m sae_sklearn",
        description="Unsupervised pretraining with stacked autoencoders.",
    )
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser(
        "demo", help="pretraining vs baselines on digits with few labels (default)"
    )
    demo.add_argument("--seeds", type=int, default=5, help="number of seeds (5)")
    demo.add_argument(
        "--label-fraction",
        type=float,
        default=0.05,
        help="share of training rows that keep their label (0.05)",
    )
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        run_demo(
            n_seeds=getattr(args, "seeds", 5),
            label_fraction=getattr(args, "label_fraction", 0.05),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
