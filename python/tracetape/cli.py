"""The ``tracetape`` command line.

``record`` runs here, in Python (it needs the interpreter it records); the
offline commands (dump, info, verify, export, dap) are C++ in ``_core``.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import List, Optional

USAGE = """\
usage: tracetape record [-o FILE] [--include GLOB]... [--exclude GLOB]... [--locals all|args|none]
                        [--redact REGEX]... [--no-source] [--ring MB] (SCRIPT | -m MODULE | -c CODE) [ARGS...]
       tracetape replay FILE [--goto N|start|end|exception] [--batch]
       tracetape dump FILE [--format text|jsonl] [--range A:B]
       tracetape info FILE
       tracetape verify FILE
       tracetape export FILE [--format chrome|speedscope] [-o OUT]
       tracetape dap

Record a Python program into a tape, then inspect it offline.

  record   run a program under the recorder (options come before the program)
  replay   step through a tape, forward and backward, at a pdb-like prompt
           (--batch: commands from stdin, results on stdout)
  dump     print the recorded events (--format jsonl: one JSON object per event)
  info     metadata, counts, threads, files, and whether the recording ended cleanly
  verify   full integrity check; exit status 0 only for a sound, complete tape
  export   the calls as a timeline for Perfetto / chrome://tracing (chrome) or
           speedscope; its time axis is the event number, not time
  dap      serve the Debug Adapter Protocol on stdin/stdout (editors: launch
           with {"tape": FILE}); stepBack and reverseContinue go backwards
"""

RECORD_HELP = """\
usage: tracetape record [options] (SCRIPT | -m MODULE | -c CODE) [ARGS...]

Runs the program as `python SCRIPT ARGS` would and records it. Exits with the
program's exit status.

options:
  -o, --output FILE   tape path (default: <script-stem>.<pid>.tape here)
  --include GLOB      record only files matching GLOB (repeatable; relative
                      globs are taken from the current directory)
  --exclude GLOB      do not record files matching GLOB (repeatable)
  --locals MODE       all (default), args (parameters only) or none
  --redact REGEX      also redact values of names matching REGEX (repeatable;
                      case-insensitive; on top of the default secrets pattern)
  --no-source         do not embed the recorded files' source text
  --ring MB           size of the recorder's in-memory buffer (default 32)
  --                  ends the options; the next word is the script
"""


class UsageError(Exception):
    pass


def _parse_record(args: List[str]):
    opts = {"output": None, "include": [], "exclude": [], "locals": "all", "redact": [],
            "source": True, "ring": 32.0}
    valued = {"-o": "output", "--output": "output", "--include": "include", "--exclude": "exclude",
              "--locals": "locals", "--redact": "redact", "--ring": "ring"}
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-h", "--help"):
            return None
        if a == "--":
            i += 1
            if i >= len(args):
                raise UsageError("no program given after --")
            return opts, ("script", args[i]), args[i + 1:]
        if a in ("-m", "-c"):
            if i + 1 >= len(args):
                raise UsageError(f"{a} needs an argument")
            return opts, ("module" if a == "-m" else "code", args[i + 1]), args[i + 2:]
        if a.startswith("-m") and len(a) > 2 and not a.startswith("--"):
            return opts, ("module", a[2:]), args[i + 1:]
        name, value = a, None
        if a.startswith("--") and "=" in a:
            name, value = a.split("=", 1)
        if name in valued:
            if value is None:
                if i + 1 >= len(args):
                    raise UsageError(f"{name} needs a value")
                i += 1
                value = args[i]
            key = valued[name]
            if key in ("include", "exclude", "redact"):
                opts[key].append(value)
            elif key == "ring":
                try:
                    opts["ring"] = float(value)
                except ValueError:
                    raise UsageError(f"--ring wants a size in MB, not {value!r}") from None
                if not 1 <= opts["ring"] <= 4096:
                    raise UsageError("--ring must be between 1 and 4096 MB")
            elif key == "locals":
                if value not in ("all", "args", "none"):
                    raise UsageError(f"--locals must be all, args or none, not {value!r}")
                opts["locals"] = value
            else:
                opts[key] = value
        elif a == "--no-source":
            opts["source"] = False
        elif a.startswith("-") and a != "-":
            raise UsageError(f"unknown option {a!r} (options come before the program)")
        else:
            return opts, ("script", a), args[i + 1:]
        i += 1
    raise UsageError("no program given: expected SCRIPT, -m MODULE or -c CODE")


def _record(args: List[str]) -> int:
    try:
        parsed = _parse_record(args)
    except UsageError as e:
        print(f"tracetape record: error: {e}", file=sys.stderr)
        print("usage: tracetape record [options] (SCRIPT | -m MODULE | -c CODE) [ARGS...]"
              " (see tracetape record --help)", file=sys.stderr)
        return 2
    if parsed is None:
        print(RECORD_HELP, end="")
        return 0
    opts, target, prog_args = parsed
    from tracetape import _runner

    return _runner.record_program(opts, target, prog_args)


def _offline(args: List[str]) -> int:
    from tracetape import _core

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return _core.cli_main(args)
    except KeyboardInterrupt:
        return 130


def _replay(args: List[str]) -> int:
    if any(a in ("-h", "--help") for a in args):
        print("usage: tracetape replay FILE [--goto N|start|end|exception] [--batch]\n"
              "At the prompt, type 'help' for the commands.")
        return 0
    # Batch mode and piped input go straight to the C++ prompt; a terminal gets
    # Python's readline (line editing, history).
    if "--batch" in args or not sys.stdin.isatty():
        return _offline(["replay"] + args)
    path, goto, rest = None, None, list(args)
    while rest:
        a = rest.pop(0)
        if a == "--goto" and rest:
            goto = rest.pop(0)
        elif a.startswith("--goto="):
            goto = a.split("=", 1)[1]
        elif a.startswith("-") or path is not None:
            return _offline(["replay"] + args)  # the C++ side reports the usage error
        else:
            path = a
    if path is None:
        return _offline(["replay"] + args)
    from tracetape import _replay as replay

    return replay.interactive(path, goto)


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    if args[0] == "--version":
        from tracetape import __version__

        print(f"tracetape {__version__}")
        return 0
    if args[0] == "record":
        return _record(args[1:])
    if args[0] == "replay":
        return _replay(args[1:])
    if args[0] in ("dump", "info", "verify", "export", "dap"):
        return _offline(args)
    print(f"tracetape: error: unknown command {args[0]!r} (commands: record, replay, dump, info, verify, export, dap;"
          " see tracetape --help)", file=sys.stderr)
    return 2


def replay_hint(path: str) -> str:
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    return f"tracetape replay {shlex.quote(shown)}"
