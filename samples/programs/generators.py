"""Generators: plain, send(), close(), throw(), yield from, and one that raises."""


def countdown(n):
    while n > 0:
        yield n
        n -= 1
    return "liftoff"


def averager():
    total = 0.0
    count = 0
    average = None
    while True:
        value = yield average
        if value is None:
            break
        total += value
        count += 1
        average = total / count
    return average


def with_cleanup(log):
    try:
        log.append("start")
        yield 1
        log.append("after first")
        yield 2
        log.append("never")
    except GeneratorExit:
        log.append("closed")
        raise
    finally:
        log.append("finally")


def fragile(items):
    for position, item in enumerate(items):
        if item < 0:
            raise ValueError("negative item at %d" % position)
        yield item * 10


def resilient():
    attempts = 0
    while True:
        try:
            yield attempts
        except KeyError as problem:
            attempts += 1
            last = problem.args[0]
            print("recovered from", last)


def delegator():
    first = yield from countdown(3)
    second = yield from averager_feed()
    return first, second


def averager_feed():
    avg = averager()
    next(avg)
    for v in (4, 8, 15):
        avg.send(v)
    try:
        avg.send(None)
    except StopIteration as stop:
        result = stop.value
    yield result
    return result


def batches(size):
    batch = []
    for n in range(7):
        batch.append(n)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def abandoned():
    try:
        yield "first"
        yield "second"
    finally:
        note = "finalised"
        print(note)


def main():
    for chunk in batches(3):
        chunk.append("seen by consumer")
    # The suspended generator's last reference goes away inside list.clear(): it is
    # finalised there (GeneratorExit at its yield). Only the list is ever a local.
    holder = [abandoned()]
    next(holder[0])
    holder.clear()
    print(list(countdown(4)))
    gen = countdown(2)
    print(next(gen), next(gen))
    try:
        next(gen)
    except StopIteration as stop:
        print("return value:", stop.value)

    avg = averager()
    next(avg)
    for sample in (10, 20, 60):
        current = avg.send(sample)
    print("average so far", current)
    avg.close()

    log = []
    cleaner = with_cleanup(log)
    next(cleaner)
    cleaner.close()
    print(log)

    produced = []
    try:
        for value in fragile([3, 1, -4, 1]):
            produced.append(value)
    except ValueError as err:
        print("fragile stopped:", err, produced)

    keeper = resilient()
    next(keeper)
    print(keeper.throw(KeyError("k1")))
    print(keeper.throw(KeyError("k2")))
    keeper.close()

    print(list(delegator()))
    squares = (n * n for n in range(6) if n % 2)
    print(sum(squares))


main()
