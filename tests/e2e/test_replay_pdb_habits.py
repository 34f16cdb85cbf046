"""End-to-end: the replay prompt keeps pdb's habits where a pdb (or gdb/rr) user
relies on them, on small programs written here and recorded with `tracetape record`.

- step and next stop where an exception is raised (pdb's `--Exception--`) and where
  a frame returns (pdb's `--Return--`), so a step back is undone by a step forward;
- next, return and their reverse twins act on the frame selected with `up`;
- next from a frame's return goes to its caller, never into the next call at the
  same depth (where pdb's would);
- `when` shows the value a frame already held when the recording began;
- breakpoints take paths relative to where the program was recorded, refuse blank
  lines, and say when nothing on the tape can reach them; a condition that fails says so;
- `p` reads slices, tuples and lists, and never answers for a redacted value or from
  an int past 64 bits turned into a float;
- `catch` (gdb's `catch throw`) makes continue stop where exceptions were raised.

Positions come from the tape's own jsonl dump and lines from the sources' text.
"""

import re
import subprocess
import sys
import textwrap

import tracetape
from conftest import SAMPLES_DIR, child_env, run_record, tracetape_cmd
from test_replay_session import line_of, location, replay


def record(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    run = run_record(path, cwd=tmp_path)
    return tmp_path / "run.tape", run.events, path


RAISES = """\
    def apply_fee(x):
        fee = x * 2
        return x - fee

    def check():
        out = apply_fee(35)
        assert out == 85, out

    def main():
        try:
            check()
        except AssertionError:
            handled = True
        return handled

    main()
    """


def test_step_and_next_stop_where_the_exception_is_raised(tmp_path):
    tape, events, path = record(tmp_path, "raises.py", RAISES)
    assert_line = line_of(path, "assert out == 85")
    raised = [e["i"] for e in events if e["kind"] == "exception"]
    assert [events[i]["func"] for i in raised] == ["check", "main"]
    assert_event = next(e["i"] for e in events if e["kind"] == "line" and e["line"] == assert_line)
    s = replay(tape, ["goto %d" % assert_event, "s", "bs", "n", "n", "n", "n", "bn", "bn", "q"])
    assert s.status == 0, s.transcript()
    # As pdb's (same program, 3.10 to 3.13): check's own raise, check's
    # unwinding return, main's raise, then the handler's first line.
    check_return = raised[0] + 1
    assert events[check_return]["kind"] == "return" and events[check_return]["func"] == "check"
    assert [s[k].after for k in range(1, 8)] == [
        raised[0], assert_event, raised[0], check_return, raised[1], raised[1] + 1, raised[1]], s.transcript()
    assert "--Exception-- AssertionError: -35" in s.output(1)
    assert s.output(4).startswith("--Return--\n"), s.transcript()
    assert location(s.output(4)) == ("raises.py", assert_line, "check")
    assert "check()->None" in s.output(4)
    assert location(s.output(5)) == ("raises.py", line_of(path, "        check()"), "main")
    assert location(s.output(6)) == ("raises.py", line_of(path, "except AssertionError"), "main")
    assert s[8].after == next(e["i"] for e in events
                              if e["func"] == "main" and e["line"] == line_of(path, "        check()")
                              and e["kind"] == "line")


SIBLINGS = """\
    def cost(x):
        y = x * 10
        return y + 1

    def main():
        total = cost(1) + cost(2)
        print(total)
        return total

    main()
    """


def test_next_from_a_frames_last_line_stops_at_its_return_then_its_caller_not_the_next_call(tmp_path):
    tape, events, path = record(tmp_path, "siblings.py", SIBLINGS)
    last = line_of(path, "return y + 1")
    first_cost_last = next(e["i"] for e in events if e["kind"] == "line" and e["line"] == last)
    after = next(e["i"] for e in events if e["kind"] == "line" and e["line"] == line_of(path, "print(total)"))
    s = replay(tape, ["goto %d" % first_cost_last, "n", "n", "bn", "bn", "q"])
    # pdb's `--Return--` first, with the value, then main's next line: not
    # cost(2)'s call, where pdb's next would go.
    assert s[1].after == first_cost_last + 1, s.transcript()
    assert s.output(1).startswith("--Return--\n") and "cost()->11" in s.output(1), s.transcript()
    assert s[2].after == after, s.transcript()
    assert "x = 2" not in s.output(2)
    # Backward from main's next line: main's calling line, not cost(2)'s return,
    # then main's line before it.
    calling = next(e["i"] for e in events if e["kind"] == "line" and e["func"] == "main"
                   and e["line"] == line_of(path, "total = cost(1) + cost(2)"))
    assert s[3].after == calling, s.transcript()
    assert events[s[4].after]["func"] == "main" and s[4].after < calling, s.transcript()


RECURSION = """\
    def fact(n):
        if n <= 1:
            return 1
        r = n * fact(n - 1)
        return r

    print(fact(4))
    """


def test_up_selects_the_frame_that_next_return_when_and_watch_act_on(tmp_path):
    tape, events, path = record(tmp_path, "fact.py", RECURSION)
    base = next(e["i"] for e in events if e["kind"] == "line" and e["line"] == 3)  # fact(1)'s return 1
    assert events[base]["locals"] == {"n": "1"}
    returns = {e["value"]: e["i"] for e in events if e["kind"] == "return" and e["func"] == "fact"}
    # Two levels up is fact(3): r returns it (pdb: return acts on the selected frame).
    s = replay(tape, ["goto %d" % base, "u 2", "p n", "r", "q"])
    assert s.output(2) == "3", s.transcript()
    assert "its own last event" in s.output(1)
    assert s[3].after == returns["6"], s.transcript()
    # next in fact(3): its next line, after fact(2) returned.
    s = replay(tape, ["goto %d" % base, "u 2", "n", "q"])
    assert location(s.output(2)) == ("fact.py", line_of(path, "return r"), "fact")
    assert s[2].after == returns["6"] - 1
    # when and watch in the selected frame.
    s = replay(tape, ["goto %d" % base, "u 2", "when r", "u", "when n", "q"])
    r_set = [e["i"] for e in events if e["kind"] == "line" and e["func"] == "fact"
             and e["locals"].get("r") == "6" and e["line"] == line_of(path, "return r")]
    assert s.output(2) == "  event %d  line %d  r = 6" % (r_set[0], line_of(path, "return r")), s.transcript()
    call_of_4 = next(e["i"] for e in events if e["kind"] == "call" and e["locals"] == {"n": "4"})
    assert s.output(4) == "  event %d  line 1  n = 4" % call_of_4, s.transcript()


ADOPTED = """\
    import sys
    import tracetape

    def main(path):
        a = 1
        with tracetape.record(path):
            b = a + 1
        return b

    main(sys.argv[1])
    """


def test_when_shows_the_value_a_frame_held_when_the_recording_began(tmp_path):
    path = tmp_path / "adopted.py"
    path.write_text(textwrap.dedent(ADOPTED), encoding="utf-8")
    tape = tmp_path / "adopted.tape"
    proc = subprocess.run([sys.executable, str(path), str(tape)], env=child_env(), cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    s = replay(tape, ["p a", "when a", "when b", "q"])
    assert s.output(0) == "1", s.transcript()
    assert s.output(1).startswith("  event 0  line "), s.transcript()
    assert s.output(1).endswith("a = 1"), s.transcript()
    assert s.output(2).endswith("b = 2"), s.transcript()


def test_breakpoint_paths_blank_lines_unreachable_lines_and_failing_conditions(tmp_path):
    sub = tmp_path / "src"
    sub.mkdir()
    tape, events, path = record(sub, "fact.py", RECURSION)
    mult = line_of(path, "r = n * fact(n - 1)")
    # Relative to where the program was recorded (src/), from anywhere.
    s = replay(tape, ["b ./fact.py:%d" % mult, "b ../src/fact.py:%d" % mult, "b fact.py:6",
                      "b fact.py:%d" % mult, "b nosuchfunc", "cl", "b fact.py:3, undefined > 1", "c", "q"],
               cwd=tmp_path)
    assert s.output(0) == "Breakpoint 1 at %s:%d" % (path, mult), s.transcript()
    assert s.output(1) == "Breakpoint 2 at %s:%d" % (path, mult), s.transcript()
    assert s.output(2) == "*** line 6 of %s is blank or a comment" % path, s.transcript()
    assert s.output(3) == "Breakpoint 3 at %s:%d" % (path, mult)
    assert s.output(4) == ("Breakpoint 4 at nosuchfunc\n"
                           "    (no recorded function named nosuchfunc was called: it will not stop)")
    assert "(its condition failed here: NameError: name 'undefined'" in s.output(7), s.transcript()
    assert s.status != 0  # the refused blank line counts as an error


EXPRESSIONS = """\
    def main():
        items = [3, 1, 4, 1, 5]
        word = 'replay'
        api_key = 'hunter2'
        config = {'api_key': api_key, 'port': 80}
        huge = 2 ** 70
        nearly = huge + 1
        done = True
        return done

    main()
    """


def test_print_reads_slices_and_displays_and_refuses_what_it_cannot_know(tmp_path):
    tape, events, path = record(tmp_path, "exprs.py", EXPRESSIONS)
    s = replay(tape, ["b exprs.py:%d" % line_of(path, "done = True"), "c",
                      "p items[1:3]", "p items[::-1]", "p word[:3]", "p (len(items), word)",
                      "p items[:2] == [3, 1]", "p 'yes' if items else 'no'",
                      "p config['port'] == 80", "p config['api_key'] == 'hunter2'", "p api_key == 'x'",
                      "p huge == nearly", "p huge < nearly", "p huge + 1",
                      "p sorted(items, reverse=True)", "p config.keys()", "q"])
    out = [s.output(k) for k in range(2, 16)]
    assert out[:7] == ["[1, 4]", "[5, 1, 4, 1, 3]", "'rep'", "(5, 'replay')", "True", "'yes'", "True"], s.transcript()
    assert out[7].startswith("*** ValueError: the value was redacted"), s.transcript()
    assert out[8].startswith("*** ValueError: the value was redacted"), s.transcript()
    assert out[9:11] == ["False", "True"], s.transcript()
    assert out[11].startswith("*** OverflowError"), s.transcript()
    assert out[12] == out[13] == "*** calls are not available in replay: the program is not running"


def listed(tmp_path, name, content, lines):
    """`l FIRST, LAST` of a file holding CONTENT (bytes) once recorded: the listing's
    lines (or, for a str, the code recorded with -c)."""
    if isinstance(content, str):
        subprocess.run(tracetape_cmd("record", "-o", "run.tape", "-c", content), cwd=str(tmp_path),
                       env=child_env(), check=True, capture_output=True, timeout=120)
    else:
        path = tmp_path / name
        path.write_bytes(content)
        run_record(path, cwd=tmp_path)
    s = replay(tmp_path / "run.tape", ["l %d, %d" % lines, "q"])
    return s.output(0).splitlines()


def test_sources_are_shown_as_python_decodes_them(tmp_path):
    # The tape keeps a file's bytes; `l` must show them as Python read them:
    # a PEP 263 declaration honoured (also after another "coding" on its
    # line), a UTF-8 BOM dropped.
    cafe = 's = "caf\u00e9"'
    shown = listed(tmp_path, "latin.py", b'# -*- coding: latin-1 -*-\ns = "caf\xe9"\nprint(s)\n', (1, 3))
    assert shown[1].endswith(cafe), shown
    shown = listed(tmp_path, "styled.py", b'# this coding style: -*- coding: latin-1 -*-\ns = "caf\xe9"\n', (1, 2))
    assert shown[1].endswith(cafe), shown
    shown = listed(tmp_path, "bom.py", b'\xef\xbb\xbfdef f():\n    return "\xc3\xa9"\nf()\n', (1, 3))
    assert shown[0].endswith("def f():") and "\ufeff" not in "".join(shown), shown
    # A declaration on line 2 after a blank CRLF line; a 7-bit encoding.
    shown = listed(tmp_path, "crlf.py", b'\r\n# coding: latin-1\r\ns = "caf\xe9"\r\n', (1, 3))
    assert shown[2].endswith(cafe), shown
    jp = '# coding: iso-2022-jp\ns = "\u65e5\u672c"\n'
    shown = listed(tmp_path, "jp.py", jp.encode("iso-2022-jp"), (1, 2))
    assert shown[1].endswith('s = "\u65e5\u672c"'), shown
    # Code the recorder got as text (-c) is UTF-8 on the tape whatever it declares.
    shown = listed(tmp_path, None, '# -*- coding: latin-1 -*-\n' + cafe + '\n', (1, 2))
    assert shown[1].endswith(cafe), shown


# Caught in main, then uncaught (samples/programs, also recorded against the reference).
CATCHES = (SAMPLES_DIR / "raises_caught_then_dies.py").read_text(encoding="utf-8")


def test_catch_makes_continue_stop_where_exceptions_were_raised(tmp_path):
    # gdb's `catch throw`, both directions: at each raise, not again in each frame
    # the exception unwinds; or at the raise of the exception that ended the run.
    tape, events, path = record(tmp_path, "catches.py", CATCHES)
    raised = [e for e in events if e["kind"] == "exception"]
    assert [e["func"] for e in raised] == ["parse", "main", "main", "<module>"]
    value_error, key_error = raised[0]["i"], raised[2]["i"]
    end = len(events) - 1
    s = replay(tape, ["catch", "catch raised", "c", "c", "c", "bc", "catch uncaught", "goto start", "c",
                      "catch off", "goto start", "c", "catch bogus", "q"])
    assert s.status == 1, s.transcript()  # the bogus one
    assert s.output(0) == "Continue stops at no exception."
    assert s.output(1) == "Continue stops where any exception was raised."
    assert [s[k].after for k in (2, 3, 4, 5)] == [value_error, key_error, end, key_error], s.transcript()
    assert s.output(2).startswith("Exception raised: ValueError: invalid literal")
    assert s.output(3).startswith("Exception raised: KeyError: 'done'")
    assert s.output(4).startswith("end of the tape")
    assert s.output(6) == "Continue stops where the exception that ended the run was raised."
    assert s[8].after == key_error and s.output(8).startswith("Uncaught exception: KeyError: 'done'")
    assert s.output(9) == "Continue stops at no exception."
    assert s[11].after == end
    assert s.output(12).startswith("*** catch takes raised, uncaught or off")


def test_the_python_api_catches_as_the_prompt_does(tmp_path):
    tape, events, path = record(tmp_path, "catches.py", CATCHES)
    raised = [e["i"] for e in events if e["kind"] == "exception"]
    t = tracetape.open(str(tape))
    t.catch()
    assert t.cont().startswith("Exception raised: ValueError") and t.position == raised[0]
    assert t.cont().startswith("Exception raised: KeyError") and t.position == raised[2]
    t.catch(raised=False, uncaught=True)
    t.goto("end")
    assert t.cont_back() == "Uncaught exception: KeyError: 'done'" and t.position == raised[2]
    t.catch(False)
    assert t.cont_back() == "start of the tape"


THROWN_THROUGH = """\
    import sys

    def inner():
        while True:
            try:
                yield "ready"
            except KeyError:
                stack = []
                f = sys._getframe()
                while f is not None:
                    stack.append(f.f_code.co_name)
                    f = f.f_back
                print(" ".join(stack))

    def middle():
        tag = "middle's"
        yield from inner()

    def outer():
        tag = "outer's"
        yield from middle()

    def main():
        g = outer()
        next(g)
        g.throw(KeyError("k"))
        after = "back in main"
        return after

    main()
    """


def test_where_shows_the_frames_a_throw_went_through_as_python_does(tmp_path):
    # g.throw() into a generator suspended in `yield from` runs the innermost one
    # with the delegating frames linked above it, without events: `where` shows
    # them as sys._getframe() does, `up` reads their locals, and `next` from the
    # generator's yield goes back to main, not into a frame that never ran.
    tape, events, path = record(tmp_path, "thrown.py", THROWN_THROUGH)
    python_stack = subprocess.run([sys.executable, str(path)], stdout=subprocess.PIPE, check=True,
                                  env=child_env()).stdout.decode().split()
    assert python_stack == ["inner", "middle", "outer", "main", "<module>"]
    at = next(e["i"] for e in events if e["kind"] == "line" and e["line"] == line_of(path, 'print(" ".join'))
    assert events[at]["depth"] == 5
    s = replay(tape, ["goto %d" % at, "w", "u", "p tag", "u", "p tag", "d 2"] + ["n"] * 6 + ["q"])
    frames = [m.group(1) for m in map(re.compile(r"^[> ] \S+\(\d+\)(\S+)\(\)$").match,
                                      s.output(1).splitlines()) if m]
    assert frames == list(reversed(python_stack)), s.transcript()
    assert s.output(3) == repr("middle's") and s.output(5) == repr("outer's"), s.transcript()
    # next, from the print: inner's loop to its yield (the generator's return), then
    # main's next line, the frames linked under it gone with it.
    stops = [location(s.output(k)) for k in range(7, 13) if "no later line" not in s.output(k)]
    first_main = next(k for k, stop in enumerate(stops) if stop[2] != "inner")
    assert first_main > 0 and stops[first_main] == ("thrown.py", line_of(path, 'after = "back in main"'), "main"), \
        s.transcript()
