"""Coroutines on an asyncio event loop: awaits, gather, a task cancelled, an async generator.

No asyncio.Queue, Event or Lock is held in a local: they keep a reference to the event
loop in their __dict__, and the loop's __dict__ holds the running thread's id.
"""


import asyncio


async def produce(name, count, mailbox):
    for n in range(count):
        mailbox.append((name, n))
        await asyncio.sleep(0)
    return name


async def consume(mailbox, expected):
    seen = []
    while len(seen) < expected:
        if mailbox:
            seen.append(mailbox.pop(0))
        else:
            await asyncio.sleep(0)
    return seen


async def ticker(limit):
    for tick in range(limit):
        yield tick
        await asyncio.sleep(0)


async def forever():
    try:
        while True:
            await asyncio.sleep(0)
    except asyncio.CancelledError:
        return "cancelled"


async def main():
    mailbox = []
    results = await asyncio.gather(produce("a", 3, mailbox), produce("b", 2, mailbox),
                                   consume(mailbox, 5))
    print(results[0], results[1], sorted(results[2]))
    ticks = [t async for t in ticker(4)]
    print(ticks)
    task = asyncio.ensure_future(forever())
    await asyncio.sleep(0)
    task.cancel()
    print("forever says", await task)


asyncio.run(main())
