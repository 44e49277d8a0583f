"""Command line: ``python -m tapegrad {bench,info}``."""

import os
import sys

USAGE = """\
usage: python -m tapegrad COMMAND [options]

commands:
  bench   time the compiled engine against the pure-Python reference and, where
          installed, micrograd, PyTorch and numpy by hand: scalar workloads (chain,
          demo), tensor workloads (overhead, mlp, matmul) and replay workloads
          (demo-replay, mlp-replay, chain-replay: tapegrad.compile / record against
          eager); prints a table of figures and ratios (`python -m tapegrad bench
          --quick` for a short run, `--workloads overhead,mlp,matmul` for the tensor
          ones, `--workloads demo-replay,mlp-replay,chain-replay` for replay, `--help`
          for options)
  info    print tapegrad's version, the active engine and where its modules are
"""


def info():
    import tapegrad
    from tapegrad import reference

    print("tapegrad %s" % tapegrad.__version__)
    print("ENGINE: %s%s" % (tapegrad.ENGINE, " (TAPEGRAD_PURE_PYTHON=%s)"
                            % os.environ["TAPEGRAD_PURE_PYTHON"]
                            if os.environ.get("TAPEGRAD_PURE_PYTHON") else ""))
    print("package: %s" % os.path.dirname(os.path.abspath(tapegrad.__file__)))
    try:
        from tapegrad import _engine
        print("compiled engine: %s" % os.path.abspath(_engine.__file__))
    except Exception as exc:  # report, don't hide: a missing extension is a failure
        print("compiled engine: NOT IMPORTABLE (%s: %s)" % (type(exc).__name__, exc))
        return 1
    print("reference engine: %s" % os.path.dirname(os.path.abspath(reference.__file__)))
    print("Python %s on %s" % (sys.version.split()[0], sys.platform))
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "bench":
        from tapegrad.bench import cli
        return cli.main(rest, prog="python -m tapegrad bench")
    if cmd == "info":
        return info()
    sys.stderr.write("python -m tapegrad: unknown command %r\n\n" % cmd)
    sys.stderr.write(USAGE)
    return 2


if __name__ == "__main__":
    sys.exit(main())
