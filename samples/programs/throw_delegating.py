"""throw() into generators and coroutines that delegate (yield from, await).

CPython runs the innermost one with the delegating frames linked above it on
the stack but not resumed: no event says they are there, and they leave it
without one. Each case below is such a throw: handled by the innermost frame
(which yields again), handled half-way up, not handled at all, two at once
(nested), handled by the innermost one that then returns (3.11 resumes the
delegating frames without a call event), and asyncio's cancellation of a
task awaiting a coroutine chain.
"""
import asyncio


def inner(log):
    while True:
        try:
            got = yield len(log)
            log.append(got)
        except KeyError as e:
            log.append("inner caught " + str(e))


def middle(log):
    try:
        result = yield from inner(log)
    except ValueError:
        log.append("middle caught")
        result = yield "middle again"
    return result


def outer(log):
    depth_marker = "outer"
    value = yield from middle(log)
    log.append((depth_marker, value))
    yield "outer done"


def handled_inside(log):
    g = outer(log)
    next(g)
    g.send("a")
    answer = g.throw(KeyError("k1"))  # inner handles it and yields
    log.append(answer)
    g.send("b")
    return g


def handled_half_way(log, g):
    answer = g.throw(ValueError("v"))  # inner dies, middle handles it
    log.append(answer)
    try:
        g.throw(IndexError("i"))  # nobody handles it
    except IndexError:
        log.append("caller caught")


def leaf():
    total = 0
    while True:
        total += yield total


def delegate_once():
    got = yield from leaf()
    return got


def delegate_twice():
    got = yield from delegate_once()
    return got


def throw_then_close():
    g = delegate_twice()
    next(g)
    g.send(3)
    try:
        g.throw(RuntimeError("deep"))  # through two delegating frames, to the caller
    except RuntimeError as e:
        caught = str(e)
    g.close()
    return caught


def returner():
    try:
        yield "waiting"
    except KeyError:
        return "returned"  # ends the delegation with a value, after a throw


def forwards():
    got = yield from returner()
    again = yield got
    return again


def keeps_forwarding():
    first = yield from forwards()
    yield first


def throw_then_return():
    g = keeps_forwarding()
    next(g)
    answer = g.throw(KeyError("k2"))  # the delegating frames go on, not thrown into
    after = next(g)
    return answer, after


async def wait_forever(events):
    events.append("waiting")
    await asyncio.sleep(3600)


async def worker(events):
    try:
        await wait_forever(events)
    except asyncio.CancelledError:
        events.append("worker cancelled")
        raise


async def supervisor(events):
    task = asyncio.ensure_future(worker(events))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        events.append("supervisor saw it")
    return events


def main():
    log = []
    g = handled_inside(log)
    handled_half_way(log, g)
    print(log)
    print(throw_then_close())
    print(throw_then_return())
    print(asyncio.run(supervisor([])))


main()
