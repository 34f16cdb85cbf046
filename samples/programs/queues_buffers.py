"""collections.deque and bytearray (rule 12 of docs/RENDERING.md), changed in place
in every way their methods allow, held directly, in containers and in instances."""

from collections import deque


class Job:
    def __init__(self, name):
        self.name = name
        self.queue = deque()
        self.buf = bytearray()


def bfs(adj, start):
    seen = {start}
    todo = deque([start])
    order = []
    while todo:
        node = todo.popleft()
        order.append(node)
        for nxt in adj[node]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return order


def deques():
    d = deque([1, 2, 3])
    d.appendleft(0)
    d.append(4)
    d.rotate(2)
    d[1] = "x"                      # same length, an item replaced
    d[-1] = d[-1]
    d.extend([[5], [6]])
    d[-1].append(7)                 # an item changed in place
    d.pop()
    d.popleft()
    d.reverse()
    d.remove("x")
    d.clear()
    window = deque(maxlen=3)
    for k in range(6):
        window.append(k)            # full: the oldest drops out, same length
    long = deque(range(40))
    long[35] = "hidden"             # past the items shown
    long[29] = "shown"
    long.rotate(-1)
    w = deque([1, 2], maxlen=6)
    for i in range(6):              # one maxlen or another, often at one address
        w = None; w = deque([1, 2], maxlen=5 if i % 2 else 6)  # noqa: E702
    loop = deque([1])
    loop.append(loop)
    deep = [[[[deque([1])]]]]
    deep[0][0][0][0].append(2)
    return d, window, long, w, loop, deep


def buffers():
    b = bytearray(b"head")
    b += b"\x00\xff'\""
    b[0] = ord("H")
    b[1:3] = b"EA"                  # same length, two bytes replaced
    b.extend(b"tail")
    del b[-1]
    big = bytearray(300)
    big[250] = 1                    # past the bytes shown
    big[199] = 2
    big[0:0] = b"!"
    views = {"b": b, "copy": bytes(b)}
    b.clear()
    return views, big


def main():
    adj = {0: [1, 2], 1: [3], 2: [3, 4], 3: [5], 4: [5], 5: []}
    print(bfs(adj, 0))
    print(deques())
    print(buffers())
    job = Job("j")
    job.queue.append(("task", 1))
    job.queue.append(("task", 2))
    job.buf.extend(b"out")
    job.queue.popleft()
    job.buf[0] = ord("O")
    jobs = [job, Job("k")]
    jobs[1].queue.extend(range(3))
    print(jobs[0].name, list(jobs[0].queue), bytes(jobs[0].buf))


main()
