"""The ``b2dark`` command line: parse, load the card, call one library function, exit.

Sub-commands (shared/DESIGN.md, "Command line"): generate, simulate, run, project, xsec, export.
Every user error is one line on stderr and exit code 2; nothing half-written is left behind
(writers use temporary names and rename when complete).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from pathlib import Path

EXIT_USAGE = 2
#: sub-commands that run numba kernels (numba's registries deferred to the first compile)
_KERNEL_COMMANDS = frozenset({"generate", "simulate", "run", "project", "xsec"})
#: an unexpected exception (a bug): still one line on stderr, the traceback only with -v
EXIT_INTERNAL = 1


def _searches():
    from analysis.searches import SEARCHES

    return SEARCHES


def _cmd_generate(args: argparse.Namespace) -> int:
    from gen.generate import generate_sample
    from gen.runcard import load_sample

    card = load_sample(args.card)
    attrs = generate_sample(
        card,
        args.output,
        events=args.events,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        chunk_blocks=args.chunk_blocks,
    )
    print(
        json.dumps(
            {
                k: attrs[k]
                for k in ("process", "n_events", "cross_section_pb", "cross_section_err_pb", "seed")
            }
        )
    )
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from analysis.gencut_check import detector_findings
    from detector.reco_io import load_detector_card, simulate_file

    config = load_detector_card(args.detector)
    detector_findings(args.events_path, config)  # warnings only: no selection here
    simulate_file(
        args.events_path,
        args.output,
        config,
        workers=args.workers,
        scheduler=args.scheduler,
        chunk_blocks=args.chunk_blocks,
    )
    return 0


def _cmd_xsec(args: argparse.Namespace) -> int:
    from gen.generate import cross_section
    from gen.runcard import load_sample

    card = load_sample(args.card)
    sigma, err = cross_section(card, points=args.points)
    print(json.dumps({"cross_section_pb": sigma, "cross_section_err_pb": err}))
    return 0


def _search_module(card_path: str):
    from gen.cards import CardError, read_toml

    table, _ = read_toml(card_path)
    name = table.get("search", {}).get("name") if isinstance(table.get("search"), dict) else None
    searches = _searches()
    if not isinstance(name, str) or name not in searches:
        valid = ", ".join(sorted(searches))
        raise CardError(
            f"{card_path}: [search].name {name!r} is not a known search ({valid}); "
            "is this a sample card? use 'b2dark generate' for sample cards"
        )
    return searches[name]


def _samples(args: argparse.Namespace) -> Path | None:
    return Path(args.samples) if args.samples else None


def _cmd_run(args: argparse.Namespace) -> int:
    from analysis.lock import locked
    from gen.distributed import runner

    module = _search_module(args.card)
    card = module.load_card(args.card)
    # one cluster for all samples of the search (inner stages reuse the open runner)
    with locked(Path(args.output)), runner(args.workers, args.scheduler):
        module.run(card, Path(args.output), workers=args.workers, samples=_samples(args))
    print(str(Path(args.output) / "results.json"))
    return 0


def _cmd_project(args: argparse.Namespace) -> int:
    from analysis.lock import locked
    from gen.distributed import runner

    module = _search_module(args.card)
    card = module.load_card(args.card)
    with locked(Path(args.output)), runner(args.workers, args.scheduler):
        module.project(
            card,
            Path(args.output),
            lumis_fb=args.lumi,
            workers=args.workers,
            samples=_samples(args),
        )
    print(str(Path(args.output) / "results.json"))
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    from gen.describe import describe, describe_tables

    if args.process == "detector":
        from detector.config import DetectorConfig

        print(DetectorConfig().to_toml())
        return 0
    searches = _searches()
    if args.process in searches:
        module = searches[args.process]
        print(f"search {args.process}: {module.__doc__.splitlines()[0]}\n")
        print(describe_tables(module.CARD_TABLES))
        return 0
    text = describe(args.process)
    if args.process is None:
        text += "\nsearches (b2dark describe NAME for its card keys):\n"
        text += "\n".join(f"  {name}" for name in sorted(searches))
        text += "\ndetector card keys: b2dark describe detector"
    print(text)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from gen.export import export_events

    export_events(args.events_path, args.to, args.output)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _add_distribution(p: argparse.ArgumentParser, chunks: bool = True) -> None:
    """--workers / --scheduler (gen/distributed.py) and the chunk size of shards."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=1,
        help="1: in this process; N > 1: a local Dask cluster of N processes (same output)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the chunks on an existing Dask scheduler, e.g. tcp://host:8786 (same output)",
    )
    if chunks:
        p.add_argument(
            "--chunk-blocks",
            type=_positive_int,
            default=None,  # gen.streams.CHUNK_BLOCKS, filled in by main (gen.streams is numpy)
            help="blocks of {BLOCK_EVENTS} events per chunk/shard, the unit of work and of "
            "resuming (default {CHUNK_BLOCKS}; does not change the output)",
        )


def _add_compression(p: argparse.ArgumentParser) -> None:
    """--compression of the HDF5 files written (gen/io.py; sets B2DARK_COMPRESSION)."""
    p.add_argument(
        "--compression",
        metavar="FILTER",
        help="compress new HDF5 datasets: lzf or gzip[:LEVEL] (default none, or "
        "$B2DARK_COMPRESSION; 5-30x slower writes, same data read back)",
    )


#: gen.streams constants that help texts name as ``{NAME}`` (filled in by _Parser.format_help)
_HELP_CONSTANTS = ("BLOCK_EVENTS", "CHUNK_BLOCKS")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help may name gen.streams' constants as ``{NAME}``: filled in when
    the help is printed, so `b2dark --help` and argument parsing import no numpy."""

    def format_help(self) -> str:
        marks = [f"{{{name}}}" for name in _HELP_CONSTANTS]
        lazy = [a for a in self._actions if a.help and any(m in a.help for m in marks)]
        if lazy:
            import gen.streams

            for action in lazy:
                for name, mark in zip(_HELP_CONSTANTS, marks, strict=True):
                    action.help = action.help.replace(mark, str(getattr(gen.streams, name)))
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="b2dark", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="generate the events of a sample card")
    p.add_argument("card")
    p.add_argument("-o", "--output", required=True, help="events file (HDF5)")
    p.add_argument("--events", type=int, help="override the card's number of events")
    p.add_argument("--seed", type=int, help="override the card's seed")
    _add_distribution(p)
    _add_compression(p)
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("simulate", help="run the parametrized Belle II detector on an events file")
    p.add_argument("events_path", metavar="EVENTS", help="events file (HDF5)")
    p.add_argument("-o", "--output", required=True, help="reco file (HDF5)")
    p.add_argument("--detector", help="detector card (TOML) overriding the default Belle II")
    _add_distribution(p)
    _add_compression(p)
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "run", help="the whole chain of a search card: samples, detector, fit, limits"
    )
    p.add_argument("card")
    p.add_argument("-o", "--output", default="out", help="output folder (default: out)")
    _add_distribution(p, chunks=False)
    p.add_argument(
        "--samples", help="folder of the events/reco samples (default: the output folder)"
    )
    _add_compression(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("project", help="expected limits of a search at larger luminosities")
    p.add_argument("card")
    p.add_argument("--lumi", type=float, nargs="+", required=True, help="luminosities in fb^-1")
    p.add_argument("-o", "--output", default="out/projection", help="output folder")
    _add_distribution(p, chunks=False)
    p.add_argument(
        "--samples", default="out", help="folder of the samples to reuse (default: out, as run)"
    )
    p.set_defaults(func=_cmd_project)

    p = sub.add_parser("xsec", help="the cross section of a sample card as JSON")
    p.add_argument("card")
    p.add_argument("--points", type=int, default=1_000_000, help="MC points (default 1e6)")
    p.set_defaults(func=_cmd_xsec)

    p = sub.add_parser("describe", help="list processes and searches, or the card keys of one")
    p.add_argument("process", nargs="?", help="a process or search name (default: list all)")
    p.set_defaults(func=_cmd_describe)

    p = sub.add_parser("export", help="convert an events file to LHE or HepMC3")
    p.add_argument("events_path", metavar="EVENTS", help="events file (HDF5)")
    p.add_argument("--to", choices=("lhe", "hepmc3"), required=True)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="b2dark: %(message)s"
    )
    from analysis.lock import LockedError
    from gen import interrupt
    from gen.cards import CardError
    from gen.distributed import ClusterError
    from gen.io import FileFormatError
    from gen.runcard import MAX_EVENTS, MAX_SEED
    from gen.shards import ShardsBusyError
    from gen.startup import defer_numba_registries, load_numba_extensions
    from gen.streams import CHUNK_BLOCKS

    if getattr(args, "chunk_blocks", CHUNK_BLOCKS) is None:
        args.chunk_blocks = CHUNK_BLOCKS

    # (option, minimum, maximum): the card limits of gen/runcard.py apply to overrides too
    numeric = [("events", 1, MAX_EVENTS), ("workers", 1, 1024), ("points", 1, MAX_EVENTS),
               ("seed", 0, MAX_SEED)]
    for name, minimum, maximum in numeric:
        value = getattr(args, name, None)
        if value is not None and not minimum <= value <= maximum:
            print(f"b2dark: error: --{name} must be in [{minimum}, {maximum}], got {value}",
                  file=sys.stderr)
            return EXIT_USAGE
    if getattr(args, "lumi", None) and not all(0 < x < math.inf for x in args.lumi):
        print("b2dark: error: --lumi values must be positive and finite (fb^-1)", file=sys.stderr)
        return EXIT_USAGE
    if args.command in ("generate", "simulate", "run"):  # HDF5 compression (gen/io.py)
        from gen.io import COMPRESSION_ENV, compression_filter

        source = "--compression" if args.compression is not None else COMPRESSION_ENV
        try:
            compression_filter(args.compression)
        except ValueError as exc:
            print(f"b2dark: error: {source}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if args.compression is not None:
            os.environ[COMPRESSION_ENV] = args.compression  # read where datasets are created
    if args.command in ("generate", "simulate", "export"):  # fail before any work is done
        output = Path(args.output)
        if output.is_dir():
            print(f"b2dark: error: {output}: is a folder; -o names the output file",
                  file=sys.stderr)
            return EXIT_USAGE
        if not output.parent.is_dir():
            print(f"b2dark: error: {output.parent}: output folder does not exist; create it",
                  file=sys.stderr)
            return EXIT_USAGE
    # Ctrl-C / SIGTERM (batch systems, `kill`) stop at the next block: temporary files are
    # removed and finished chunks stay for a restart (gen/interrupt.py, gen/shards.py)
    restore_signals = interrupt.install()
    try:
        # before the first kernel: numba's extension hooks minus vector's (sympy, ~0.6-1 s); for
        # commands that run kernels its registries only if a kernel is not in the on-disk cache,
        # then without scipy.linalg / cffi (gen.startup)
        if args.command in _KERNEL_COMMANDS:
            defer_numba_registries()
        else:
            load_numba_extensions()
        return args.func(args)
    except (CardError, FileFormatError, LockedError, ClusterError, ShardsBusyError) as exc:
        print(f"b2dark: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `b2dark describe detector | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # missing or unwritable paths, full disk, h5py I/O errors
        print(f"b2dark: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("b2dark: interrupted; partial outputs were removed", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user error: still one line unless -v asks for more
        if args.verbose:
            raise
        print(f"b2dark: internal error: {_one_line(exc, True)} (rerun with -v for the traceback "
              "and report it)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        restore_signals()


def _one_line(exc: BaseException, with_type: bool = False) -> str:
    """The exception's message on one line (the CLI's error contract: one line on stderr)."""
    text = " ".join(str(exc).split())
    if with_type:
        text = f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
    return text


if __name__ == "__main__":
    sys.exit(main())
