"""`tracetape dap` (DESIGN sections 1 and 2): the replay engine behind the Debug Adapter
Protocol, driven as an editor drives it, over the subprocess's stdin/stdout.

Where it stops is checked against the Python API's cursor making the same moves (DAP's
next / stepIn / stepOut / stepBack / continue / reverseContinue are the prompt's n / s /
r / bn / c / bc), and what it shows (frames, locals, values expanded, the recorded source)
against `dump --format jsonl` of the same tape.
"""

import functools
import json
import os
import subprocess
import sys
import threading

import pytest

import tracetape
from conftest import REPO_ROOT, SAMPLES_DIR, SUBPROCESS_TIMEOUT, child_env, parse_jsonl, tracetape_cmd

PROGRAM = """\
class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance


def transfer(a, b, amount):
    a.balance -= amount
    b.balance += amount
    return a.balance


def main():
    accounts = [Account("ann", 100), Account("bob", 5)]
    ledger = {"ann": [], "bob": []}
    total = 0
    for i in range(3):
        total += transfer(accounts[0], accounts[1], 10 * i)
        ledger["ann"].append(-10 * i)
    if total > 100:
        raise ValueError("total %d" % total)
    return total


main()
"""


class Client:
    """A DAP client: Content-Length framing, requests matched to responses, events kept
    in arrival order until asked for."""

    def __init__(self, cwd, args=()):
        self.proc = subprocess.Popen(tracetape_cmd("dap", *args), cwd=str(cwd), env=child_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.seq = 0
        self.last_seq = 0
        self.events = []
        # A guard against a hung adapter, not a timing assertion: reads then end.
        self.watchdog = threading.Timer(SUBPROCESS_TIMEOUT, self.proc.kill)
        self.watchdog.start()

    def write(self, raw):
        self.proc.stdin.write(raw)
        self.proc.stdin.flush()

    def send(self, command, **arguments):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments}).encode()
        self.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return self.seq

    def read(self):
        length = None
        while True:
            line = self.proc.stdout.readline()
            assert line, "the adapter ended: " + self.proc.stderr.read().decode()
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        assert length is not None
        return json.loads(self.proc.stdout.read(length))

    def request(self, command, **arguments):
        seq = self.send(command, **arguments)
        while True:
            m = self.read()
            # The adapter's own numbering only grows.
            assert m["seq"] > self.last_seq, m
            self.last_seq = m["seq"]
            if m["type"] == "response":
                assert m["request_seq"] == seq and m["command"] == command, m
                return m
            # A client takes a thread for running once a move's response
            # comes: its stop must come after it.
            assert m["event"] != "stopped", "a stop before the response to %s: %s" % (command, m)
            self.events.append(m)

    def ok(self, command, **arguments):
        r = self.request(command, **arguments)
        assert r["success"], r
        return r.get("body", {})

    def event(self, name):
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            self.events.append(self.read())

    def close(self):
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self.proc.stdout.close()
        self.proc.stderr.close()

    # -- what the editor shows
    def position(self):
        info = self.ok("evaluate", expression="info", context="repl")["result"]
        return int(info.split("at: event ")[1].split()[0])

    def frames(self):
        return self.ok("stackTrace", threadId=1)["stackFrames"]

    def variables(self, reference):
        return {v["name"]: v for v in self.ok("variables", variablesReference=reference)["variables"]}


def record(work, name, source):
    """Writes NAME.py, records it into NAME.tape; the tape's events as `dump --format jsonl` gives them."""
    (work / (name + ".py")).write_text(source)
    subprocess.run(tracetape_cmd("record", "-o", name + ".tape", name + ".py"), cwd=str(work), env=child_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    dump = subprocess.run(tracetape_cmd("dump", name + ".tape", "--format", "jsonl"), cwd=str(work),
                          env=child_env(), stdout=subprocess.PIPE, timeout=300, check=True)
    return parse_jsonl(dump.stdout.decode(), "dump")


@pytest.fixture
def taped(tmp_path):
    events = record(tmp_path, "bank", PROGRAM)
    client = Client(tmp_path)
    yield tmp_path, events, client
    client.close()


def start(client, tape="bank.tape", **launch):
    caps = client.ok("initialize", adapterID="tracetape", linesStartAt1=True, columnsStartAt1=True)
    assert caps["supportsStepBack"] and caps["supportsConfigurationDoneRequest"]
    client.ok("launch", tape=tape, **launch)
    client.event("initialized")


def test_an_editor_session_moves_both_ways_as_the_prompt_does(taped):
    work, events, c = taped
    start(c)
    bps = c.ok("setBreakpoints", source={"path": "bank.py"},
               breakpoints=[{"line": 8, "condition": "amount == 20"}, {"line": 5}, {"line": 400}])["breakpoints"]
    assert bps[0]["verified"] and bps[0]["line"] == 8
    assert not bps[1]["verified"] and "blank" in bps[1]["message"]
    assert not bps[2]["verified"] and "lines" in bps[2]["message"]
    c.ok("configurationDone")
    assert c.event("stopped")["body"]["reason"] == "entry"
    assert c.position() == 0

    cursor = tracetape.open(str(work / "bank.tape"))
    cursor.breakpoint("bank.py:8", "amount == 20")
    trail = []
    # An editor's steps are an IDE's (debugpy's): they pass over returns.
    step = functools.partial(cursor.step, frame_ends=False)
    next_ = functools.partial(cursor.next, frame_ends=False)
    next_back = functools.partial(cursor.next_back, frame_ends=False)
    moves = [("continue", cursor.cont), ("stepIn", step), ("next", next_),
             ("stepBack", next_back), ("stepOut", cursor.finish), ("next", next_),
             ("stepBack", next_back), ("stepIn", step),
             ("stepIn", step), ("reverseContinue", cursor.cont_back), ("continue", cursor.cont),
             ("next", next_), ("next", next_)]
    for command, move in moves:
        c.ok(command, threadId=1)
        stopped = c.event("stopped")["body"]
        move()
        assert stopped["threadId"] == 1 and stopped["allThreadsStopped"]
        assert c.position() == cursor.position, command
        trail.append((command, cursor.position, stopped["reason"], stopped.get("description")))
        if stopped["reason"] == "breakpoint":
            assert "bank.py:8" in stopped["description"]
        # What the editor shows is what the tape holds at that event.
        event = events[cursor.position]
        frames = c.frames()
        # (A module's call event is at line 0, as sys.settrace says: shown at its first line.)
        assert (frames[0]["name"], frames[0]["line"]) == (event["qualname"], max(event["line"], 1))
        assert frames[-1]["name"] == "<module>" and len(frames) == event["depth"]
        shown = c.variables(c.ok("scopes", frameId=1)["scopes"][0]["variablesReference"])
        locals_shown = {k: v["value"] for k, v in shown.items() if not k.startswith("(")}
        assert locals_shown == event["locals"], command
        if event["kind"] == "return":
            assert shown["(return value)"]["value"] == event["value"]
    assert [reason for _, _, reason, _ in trail if reason == "breakpoint"] == ["breakpoint"] * 2, trail
    # From transfer()'s last line, Step Over and Step Into go to main's next
    # line, over the return where the prompt's `n` and `s` stop; Step Back
    # from there goes back over the call, to the line that made it.
    last_line = next(e["i"] for e in events if e["func"] == "transfer" and e["kind"] == "line"
                     and e["line"] == 10)  # return a.balance
    assert events[last_line + 1]["kind"] == "return"
    main_after = last_line + 2
    assert (events[main_after]["func"], events[main_after]["kind"]) == ("main", "line")
    calling = max(e["i"] for e in events[:last_line] if e["func"] == "main" and e["kind"] == "line")
    for command, want in (("next", main_after), ("stepIn", main_after), ("stepBack", calling)):
        start_at = main_after if command == "stepBack" else last_line
        if c.position() != start_at:
            c.ok("evaluate", expression="goto %d" % start_at, context="repl")
            assert c.event("stopped")["body"]["reason"] == "goto"
        c.ok(command, threadId=1)
        c.event("stopped")
        assert c.position() == want, command
    cursor.goto(last_line)
    assert cursor.next() and cursor.position == last_line + 1
    cursor.goto(last_line)
    assert cursor.step() and cursor.position == last_line + 1
    cursor.goto(main_after)
    assert cursor.next_back() and cursor.position == calling
    # At the tape's edge a move stays where it is and says why.
    for where in ("start", "end"):
        c.ok("evaluate", expression="goto " + where, context="repl")
        assert c.event("stopped")["body"]["reason"] == "goto"
    c.ok("stepIn", threadId=1)
    assert "no later" in c.event("stopped")["body"]["description"]
    assert c.position() == len(events) - 1


def test_values_expand_and_expressions_evaluate_in_the_frame_shown(taped):
    work, events, c = taped
    start(c, goto="exception")
    c.ok("configurationDone")
    assert c.event("stopped")["body"]["reason"] == "entry"
    here = c.position()
    assert events[here]["kind"] == "exception" and events[here]["value"] == "ValueError: total 260"
    frames = c.frames()
    assert frames[0]["name"] == "main"
    top = c.variables(1)
    assert top["(exception)"]["value"] == "ValueError: total 260"
    assert top["total"]["value"] == "260"
    # A list of instances opens into its items, each into its attributes.
    accounts = top["accounts"]
    assert accounts["variablesReference"] > 0 and accounts["indexedVariables"] == 2
    items = c.variables(accounts["variablesReference"])
    assert list(items) == ["0", "1"]
    ann = c.variables(items["0"]["variablesReference"])
    assert {k: v["value"] for k, v in ann.items()} == {"owner": "'ann'", "balance": "70"}
    ledger = c.variables(top["ledger"]["variablesReference"])
    assert ledger["'ann'"]["value"] == "[0, -10, -20]"
    assert (top["ledger"]["namedVariables"], top["ledger"]["indexedVariables"]) == (2, 0)
    # A client pages a long list's items (VS Code, past 100), and asks for the named ones apart.
    ann_ref = ledger["'ann'"]["variablesReference"]
    page = c.ok("variables", variablesReference=ann_ref, filter="indexed", start=1, count=5)["variables"]
    assert [(v["name"], v["value"]) for v in page] == [("1", "-10"), ("2", "-20")]
    assert c.ok("variables", variablesReference=ann_ref, filter="named")["variables"] == []
    named = c.ok("variables", variablesReference=top["ledger"]["variablesReference"], filter="named")
    assert [v["name"] for v in named["variables"]] == ["'ann'", "'bob'"]
    assert c.ok("variables", variablesReference=top["ledger"]["variablesReference"], filter="indexed") == \
        {"variables": []}
    # Asking again hands out the same references (nothing piles up between stops).
    assert c.variables(1)["accounts"]["variablesReference"] == accounts["variablesReference"]
    r = c.ok("evaluate", expression="accounts", frameId=1, context="watch")
    assert r["indexedVariables"] == 2 and r["variablesReference"] > 0
    assert c.ok("evaluate", expression="accounts", frameId=1, context="watch") == r
    # Hover and watch: expressions over the recorded values.
    r = c.ok("evaluate", expression="accounts[1].balance + total", frameId=1, context="watch")
    assert r["result"] == "295"
    r = c.request("evaluate", expression="nosuch + 1", frameId=1, context="hover")
    assert not r["success"] and "nosuch" in r["message"]
    # The debug console takes prompt commands too, in the frame selected.
    r = c.ok("evaluate", expression="when total", frameId=1, context="repl")["result"]
    assert [int(line.split()[1]) for line in r.splitlines()] == \
        [e["i"] for e in events if e["func"] == "main" and "total" in e["locals"]
         and e["locals"]["total"] != events[e["i"] - 1]["locals"].get("total")]
    r = c.request("evaluate", expression="goto nowhere", frameId=1, context="repl")
    assert not r["success"] and r["message"].startswith("goto wants")
    r = c.request("evaluate", expression="not_a_name", frameId=1, context="repl")
    assert not r["success"] and "not_a_name" in r["message"]
    # An empty line does not repeat the last command, as it would at the prompt.
    c.ok("evaluate", expression="up", frameId=1, context="repl")
    for empty in ("", "  ", 5):
        r = c.request("evaluate", expression=empty, frameId=1, context="repl")
        assert not r["success"] and "expression" in r["message"]
    assert c.position() == here
    # The source is the recorded one, handed out by reference.
    source = frames[0]["source"]
    assert source["path"] == str(work / "bank.py") and source["sourceReference"] > 0
    os.remove(work / "bank.py")
    text = c.ok("source", source=source, sourceReference=source["sourceReference"])["content"]
    assert text == PROGRAM
    assert c.ok("loadedSources")["sources"] == [source]
    # Breakpoints set on that reference reach the recorded file; the list of the
    # file on disk is another document's, which clearing this one leaves.
    bps = c.ok("setBreakpoints", source={"path": str(work / "bank.py")}, breakpoints=[{"line": 3}])
    assert bps["breakpoints"][0]["verified"]
    assert c.ok("setBreakpoints", source=source, breakpoints=[])["breakpoints"] == []
    bps = c.ok("setBreakpoints", source=source, breakpoints=[{"line": 3}])["breakpoints"]
    assert bps[0]["verified"]
    assert len(c.ok("evaluate", expression="b", context="repl")["result"].splitlines()) == 2  # one per document
    c.ok("reverseContinue", threadId=1)
    stopped = c.event("stopped")["body"]
    assert stopped["reason"] == "breakpoint" and frames[0]["name"] != c.frames()[0]["name"]
    assert len(stopped["hitBreakpointIds"]) == 1
    # (3.10 has no co_qualname: the tape's qualname is the name there.)
    assert c.frames()[0]["name"] == events[c.position()]["qualname"]
    assert events[c.position()]["func"] == "__init__"
    threads = c.ok("threads")["threads"]
    assert threads == [{"id": 1, "name": "MainThread"}]
    c.ok("disconnect")
    assert c.proc.wait(timeout=60) == 0


def test_a_failed_tests_tape_opens_at_its_failure(tmp_path):
    bankapp = REPO_ROOT / "samples" / "bankapp"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tape",
                    "--tape-dir", str(tmp_path / "tapes"), str(bankapp)], cwd=str(bankapp), env=child_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    tapes = sorted((tmp_path / "tapes").glob("*.tape"))
    assert tapes, "bankapp's failing test left no tape"
    c = Client(tmp_path)
    try:
        start(c, tape=str(tapes[0]))
        c.ok("configurationDone")
        stopped = c.event("stopped")["body"]
        assert stopped["reason"] == "exception"
        assert "failed here" in stopped["description"] and "AssertionError" in stopped["description"]
    finally:
        c.close()


def test_bad_requests_get_errors_and_bad_framing_ends_it(tmp_path):
    c = Client(tmp_path)
    try:
        r = c.request("stackTrace", threadId=1)
        assert not r["success"] and "launch" in r["message"]
        c.ok("initialize", adapterID="x")
        r = c.request("launch", tape="missing.tape")
        assert not r["success"] and "missing.tape" in r["message"]
        r = c.request("launch")
        assert not r["success"] and "tape" in r["message"]
        # Not JSON, then not a request: skipped, said on stderr; the session goes on.
        c.write(b"Content-Length: 5\r\n\r\n{nope")
        c.write(b'Content-Length: 2\r\n\r\n[]')
        r = c.request("frobnicate")
        assert not r["success"] and "frobnicate" in r["message"]
        # A header that is not DAP's: the stream cannot be followed any more.
        c.write(b"Content-Length: lots\r\n\r\n")
        assert c.proc.wait(timeout=60) == 1
        err = c.proc.stderr.read().decode()
        assert "not JSON" in err and "not a DAP request" in err and "Content-Length is not a number" in err
    finally:
        c.close()
    for raw, said in [(b"Content-Length: 999999999\r\n\r\n", "at most"),
                      (b"X-Pad: " + b"a" * (64 << 20), "longer than 1024 bytes"),
                      (b"X: y\r\n" * 40, "more than 32 lines"),
                      (b"Content-Length: 10\r\n", "ended inside a message header"),
                      (b"Content-Length: 10\r\n\r\n{}", "ended inside a message")]:
        c = Client(tmp_path)
        try:
            try:
                c.write(raw)
                c.proc.stdin.close()
            except BrokenPipeError:  # it stopped reading, as it should
                pass
            assert c.proc.wait(timeout=60) == 1
            assert said in c.proc.stderr.read().decode()
        finally:
            c.close()


THREADED = """\
import threading


def work(n):
    acc = 0
    for i in range(n):
        acc += i
    return acc


def main():
    results = []
    t = threading.Thread(target=lambda: results.append(work(4)), name="worker")
    t.start()
    t.join()
    return results


main()
"""


def test_every_thread_shows_its_stack_as_its_last_event_left_it(tmp_path):
    events = record(tmp_path, "threaded", THREADED)
    c = Client(tmp_path)
    try:
        start(c, tape="threaded.tape")
        c.ok("setBreakpoints", source={"path": "threaded.py"}, breakpoints=[{"line": 7, "condition": "i == 2"}])
        c.ok("configurationDone")
        c.event("stopped")
        c.ok("continue", threadId=1)
        stopped = c.event("stopped")["body"]
        here = c.position()
        assert stopped["reason"] == "breakpoint" and events[here]["thread"] == 1
        assert stopped["threadId"] == 2
        threads = {t["name"]: t["id"] for t in c.ok("threads")["threads"]}
        assert set(threads) == {"MainThread", "worker"}
        # The main thread: where its last event before this one left it.
        last = [e for e in events[:here] if e["thread"] == 0][-1]
        frames = c.ok("stackTrace", threadId=threads["MainThread"])["stackFrames"]
        assert (frames[0]["name"], frames[0]["line"]) == (last["qualname"], last["line"])
        assert len(frames) == last["depth"]
        shown = c.variables(c.ok("scopes", frameId=frames[0]["id"])["scopes"][0]["variablesReference"])
        assert {k: v["value"] for k, v in shown.items()} == last["locals"]
        r = c.ok("evaluate", expression="len(results)", frameId=frames[0]["id"], context="watch")
        assert r["result"] == "0"
        worker = c.ok("stackTrace", threadId=threads["worker"])["stackFrames"]
        assert (worker[0]["name"], worker[0]["line"]) == ("work", 7)
        assert c.variables(worker[0]["id"])["i"]["value"] == "2"
        # Steps follow the current event's thread: asked of another, they say so.
        r = c.request("next", threadId=threads["MainThread"])
        assert not r["success"] and "current event" in r["message"]
        assert c.position() == here
        # The console runs prompt commands with another thread's frame shown.
        info = c.ok("evaluate", expression="info", frameId=frames[0]["id"], context="repl")["result"]
        assert "at: event %d" % here in info
        r = c.request("stackTrace")
        assert not r["success"] and "threadId" in r["message"]
        # Frame ids of the last stop are gone after a move.
        c.ok("next", threadId=2)
        c.event("stopped")
        r = c.request("scopes", frameId=frames[0]["id"])
        assert not r["success"] and "next stop" in r["message"]
    finally:
        c.close()


def test_function_breakpoints_and_lines_counted_from_zero(taped):
    work, events, c = taped
    c.ok("initialize", adapterID="x", linesStartAt1=False, columnsStartAt1=False)
    c.ok("launch", tape="bank.tape", stopOnEntry=False)
    c.event("initialized")
    bps = c.ok("setFunctionBreakpoints", breakpoints=[{"name": "transfer", "condition": "amount == 10"},
                                                      {"name": "no such()"}])["breakpoints"]
    assert bps[0]["verified"] and not bps[1]["verified"] and bps[1]["message"]
    c.ok("configurationDone")
    stopped = c.event("stopped")["body"]
    assert stopped["reason"] == "function breakpoint" and stopped["hitBreakpointIds"] == [bps[0]["id"]]
    event = events[c.position()]
    assert event["kind"] == "call" and event["func"] == "transfer" and event["locals"]["amount"] == "10"
    frame = c.frames()[0]
    assert (frame["line"], frame["column"]) == (event["line"] - 1, 0)
    # A line breakpoint given from zero is the recorded line + 1.
    bps = c.ok("setBreakpoints", source={"path": "bank.py"}, breakpoints=[{"line": 8}])["breakpoints"]
    assert bps[0]["verified"] and bps[0]["line"] == 8
    c.ok("continue", threadId=1)
    assert c.event("stopped")["body"]["reason"] == "breakpoint"
    assert events[c.position()]["line"] == 9


def test_arguments_of_the_wrong_type_get_errors(taped):
    work, events, c = taped
    start(c)
    c.ok("configurationDone")
    c.event("stopped")
    c.frames()
    for command, arguments in [("stackTrace", {"threadId": "x", "levels": -3}), ("scopes", {"frameId": "1"}),
                               ("variables", {"variablesReference": 2 ** 70}), ("setBreakpoints", {"source": 7}),
                               ("setBreakpoints", {"source": {"path": "bank.py"}, "breakpoints": 7}),
                               ("setBreakpoints", {"source": {"path": "bank.py"}, "breakpoints": [{"line": "x"}]}),
                               ("source", {"sourceReference": -1}), ("evaluate", {"expression": ["x"]}),
                               ("next", {"threadId": None})]:
        r = c.request(command, **arguments)
        if r["success"]:
            assert command in ("stackTrace", "setBreakpoints", "next"), r
        else:
            assert r["message"], r
    # Arguments that are not an object at all.
    c.seq += 1
    body = json.dumps({"seq": c.seq, "type": "request", "command": "threads", "arguments": [1, 2]}).encode()
    c.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    r = c.read()
    while r["type"] != "response":
        r = c.read()
    assert r["success"] and r["body"]["threads"]
    assert c.proc.poll() is None


def test_data_breakpoints_are_watches_both_ways(taped):
    work, events, c = taped
    start(c)
    c.ok("setBreakpoints", source={"path": "bank.py"}, breakpoints=[{"line": 17}])  # in main: total = 0
    c.ok("configurationDone")
    c.event("stopped")
    c.ok("continue", threadId=1)
    assert c.event("stopped")["body"]["reason"] == "breakpoint"
    c.ok("setBreakpoints", source={"path": "bank.py"}, breakpoints=[])
    frame = c.frames()[0]
    assert frame["name"] == "main"
    info = c.ok("dataBreakpointInfo", variablesReference=frame["id"], name="total")
    assert info["dataId"] and info["accessTypes"] == ["write"]
    accounts = c.variables(frame["id"])["accounts"]
    assert c.ok("dataBreakpointInfo", variablesReference=accounts["variablesReference"], name="0")["dataId"] is None
    assert c.ok("dataBreakpointInfo", variablesReference=frame["id"], name="nonesuch")["dataId"] is None
    bps = c.ok("setDataBreakpoints", breakpoints=[{"dataId": info["dataId"]}])["breakpoints"]
    assert bps[0]["verified"]
    changes, last = [], None  # main's events where its total changed, after here
    for e in events:
        if e["func"] == "main":
            if e["locals"].get("total") != last and e["i"] > c.position():
                changes.append(e["i"])
            last = e["locals"].get("total")
    assert len(changes) >= 3
    stops = []
    for _ in changes:
        c.ok("continue", threadId=1)
        stopped = c.event("stopped")["body"]
        assert stopped["reason"] == "data breakpoint" and stopped["hitBreakpointIds"] == [bps[0]["id"]]
        stops.append(c.position())
    assert stops == changes
    c.ok("reverseContinue", threadId=1)
    assert c.event("stopped")["body"]["reason"] == "data breakpoint"
    assert c.position() == changes[-2]
    # A condition or a read cannot be honoured: refused, not ignored.
    r = c.ok("setDataBreakpoints", breakpoints=[{"dataId": info["dataId"]},
                                                {"dataId": info["dataId"], "condition": "total > 5"},
                                                {"dataId": info["dataId"], "accessType": "read"}])["breakpoints"]
    assert r[0]["verified"] and not r[1]["verified"] and not r[2]["verified"]
    # A watch the console cleared (`unwatch`) is set again when the list comes again.
    c.ok("evaluate", expression="unwatch %d" % (bps[0]["id"] - 1000000), context="repl")
    again = c.ok("setDataBreakpoints", breakpoints=[{"dataId": info["dataId"]}])["breakpoints"]
    assert again[0]["verified"]
    bps = again
    # The same list again keeps the watch (its frame is the one it was offered for).
    assert c.ok("setDataBreakpoints", breakpoints=[{"dataId": info["dataId"]}])["breakpoints"][0]["id"] == bps[0]["id"]
    # A dataId whose frame is not on the stack any more is refused, saying why.
    c.ok("evaluate", expression="goto end", context="repl")
    c.event("stopped")
    r = c.ok("setDataBreakpoints", breakpoints=[{"dataId": info["dataId"].replace("total", "i")}])["breakpoints"]
    assert not r[0]["verified"] and "not on the stack" in r[0]["message"]
    assert c.ok("evaluate", expression="info", context="repl")["result"].endswith("watches: 0, displays: 0")


def test_a_watch_offered_in_one_call_is_not_set_in_the_next(taped):
    work, events, c = taped
    start(c)
    c.ok("setFunctionBreakpoints", breakpoints=[{"name": "transfer"}])
    c.ok("configurationDone")
    c.event("stopped")
    c.ok("continue", threadId=1)
    assert c.event("stopped")["body"]["reason"] == "function breakpoint"
    frame = c.frames()[0]
    offered = c.ok("dataBreakpointInfo", variablesReference=frame["id"], name="amount")["dataId"]
    assert offered
    c.ok("continue", threadId=1)  # the next call of transfer: another frame at the same depth
    c.event("stopped")
    assert c.frames()[0]["name"] == "transfer" and len(c.frames()) == len(c.ok("stackTrace", threadId=1)["stackFrames"])
    r = c.ok("setDataBreakpoints", breakpoints=[{"dataId": offered}])["breakpoints"]
    assert not r[0]["verified"] and "not on the stack" in r[0]["message"]
    # Without a context (a client that says nothing) an expression is only an expression.
    here = c.position()
    r = c.request("evaluate", expression="c", frameId=c.frames()[0]["id"])
    assert not r["success"] and c.position() == here


CUT = """\
def main():
    big = list(range(300))
    return len(big)


main()
"""


def test_a_list_cut_by_the_recorder_shows_its_items_and_one_mark(tmp_path):
    record(tmp_path, "cut", CUT)
    c = Client(tmp_path)
    try:
        start(c, tape="cut.tape")
        c.ok("setBreakpoints", source={"path": "cut.py"}, breakpoints=[{"line": 3}])
        c.ok("configurationDone")
        c.event("stopped")
        c.ok("continue", threadId=1)
        c.event("stopped")
        big = c.variables(c.frames()[0]["id"])["big"]
        assert big["value"].endswith("...]")
        shown = c.ok("variables", variablesReference=big["variablesReference"], filter="indexed",
                     start=0, count=big["indexedVariables"])["variables"]
        assert [v["value"] for v in shown] == [str(i) for i in range(big["indexedVariables"])]
        assert 0 < big["indexedVariables"] < 300 and big["namedVariables"] == 1
        named = c.ok("variables", variablesReference=big["variablesReference"], filter="named")["variables"]
        assert [v["name"] for v in named] == ["..."]
    finally:
        c.close()


# Caught in main, then uncaught (samples/programs, also recorded against the reference).
EXCEPTIONS = (SAMPLES_DIR / "raises_caught_then_dies.py").read_text(encoding="utf-8")


def test_exception_breakpoints_stop_where_exceptions_were_raised(tmp_path):
    events = record(tmp_path, "exc", EXCEPTIONS)
    raised = [e for e in events if e["kind"] == "exception"]
    # Where each was raised (parse's ValueError, main's KeyError), not each frame it unwound.
    where = [raised[0]["i"], next(e["i"] for e in raised if e["func"] == "main" and "KeyError" in e["value"])]
    assert raised[0]["func"] == "parse" and len(raised) == 4
    for filters, stops in ((["raised"], where), (["uncaught"], where[1:])):
        c = Client(tmp_path)
        try:
            caps = c.ok("initialize", adapterID="x")
            assert {f["filter"] for f in caps["exceptionBreakpointFilters"]} == {"raised", "uncaught"}
            c.ok("launch", tape="exc.tape", stopOnEntry=False)
            c.event("initialized")
            r = c.ok("setExceptionBreakpoints", filters=filters)
            assert [b["verified"] for b in r["breakpoints"]] == [True]
            c.ok("configurationDone")
            for n, stop in enumerate(stops):
                if n:
                    c.ok("continue", threadId=1)
                stopped = c.event("stopped")["body"]
                assert stopped["reason"] == "exception" and c.position() == stop, (filters, stopped)
                assert events[stop]["value"] in stopped["description"]
                info = c.ok("exceptionInfo", threadId=1)
                assert info["description"] == events[stop]["value"]
                assert info["exceptionId"] == events[stop]["value"].split(":")[0]
                assert info["breakMode"] == ("unhandled" if stop == where[1] else "always")
            c.ok("continue", threadId=1)
            assert c.event("stopped")["body"]["description"] == "end of the tape"
            c.ok("setExceptionBreakpoints", filters=[])
            c.ok("reverseContinue", threadId=1)
            assert c.event("stopped")["body"]["description"] == "start of the tape"
            r = c.request("exceptionInfo", threadId=1)
            assert not r["success"] and "not at an exception" in r["message"]
        finally:
            c.close()
