"""Command line: ``python -m sae_sklearn {demo,fit,predict,evaluate}``."""

import argparse
import sys

from ._cli import CommandError, add_csv_commands
from ._demo import run_demo

DESCRIPTION = """\
Unsupervised pretraining with stacked autoencoders.

fit, predict and evaluate read CSV files with a header row: one column is the
target (--target), every other column a numeric feature. A row whose target
cell is blank is unlabeled: it trains the autoencoder (pretraining) but not the
classifier or regressor on top. Without a command, runs the demo."""

EPILOG = """\
examples:
  python -m sae_sklearn fit data.csv --target label --model model.joblib
  python -m sae_sklearn predict new.csv --model model.joblib --output pred.csv
  python -m sae_sklearn evaluate data.csv --target label --output-plot curve.png

Run python -m sae_sklearn COMMAND --help for the options of a command."""


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``python -m sae_sklearn``."""
    parser = argparse.ArgumentParser(
        prog="python -m sae_sklearn",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", title="commands")
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
    add_csv_commands(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line interface; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse has printed
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command in (None, "demo"):
        run_demo(
            n_seeds=getattr(args, "seeds", 5),
            label_fraction=getattr(args, "label_fraction", 0.05),
        )
        return 0
    try:
        args.run(args)
    except CommandError as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
