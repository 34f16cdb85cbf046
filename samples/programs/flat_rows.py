"""Short lists and tuples of plain values (rows, pairs, adjacency lists) held in
dicts, lists and sets, changed in place at their first, middle and last items,
with lengths around the point where a recorder may switch how it compares them."""


class Row(list):
    pass


def adjacency():
    adj = {0: [1, 2], 1: [2], 2: [0, 3], 3: []}
    for node in list(adj):
        adj[node].append(node + 10)     # grows: another length
    adj[0][0] = 99                      # first item, same length
    adj[2][1] = 98                      # middle item
    adj[3][-1] = 97                     # last item
    adj[1][-1] = adj[1][-1]             # the same object put back
    adj[1][0] = 2 ** 70                 # a big int, then an equal one made anew
    adj[1][0] = 2 ** 70
    adj[0].pop()
    adj[0].append(adj[0][-1])           # the same object twice
    return adj


def widths():
    out = []
    for n in (7, 8, 9, 16, 29, 30, 31, 40):
        row = list(range(n))
        box = {"row": row, "pair": (n, -n)}
        row[0] = "a"
        row[n // 2] = "m"
        row[n - 1] = "z"                # past the shown items from 31 on
        if n > 30:
            row[29] = "cut"             # the last item shown
        row[n - 2], row[n - 1] = row[n - 1], row[n - 2]
        box["pair"] = (n, n)
        out.append(box)
    return out


def rows_in_places():
    table = [(1, "a"), (2, "b"), (3, "c")]
    index = {"t": table}
    table[1] = (2, "B")                 # a row replaced by another tuple
    table[2] = table[2]
    r = Row([1, 2, 3])
    holder = {"r": r, "s": {("x", 1), ("y", 2)}}
    r[2] = 30
    r.append(4)
    r.tag = "sub"
    holder["s"].discard(("x", 1))       # a set's deleted slot
    holder["s"].add(("z", 3))
    holder["s"].discard(("y", 2))
    holder["s"].add(("y", 2))
    grid = [[0] * 3 for _ in range(3)]
    for i in range(3):
        for j in range(3):
            grid[i][j] = i * 3 + j      # each row changes item by item
    grid[1] = grid[0]                   # one row twice
    grid[0][2] = -1
    return index, holder, grid


def swaps():
    pairs = {k: [k, k * 2] for k in range(5)}
    for k in range(5):
        a, b = pairs[k]
        pairs[k][0], pairs[k][1] = b, a
    lst = [1.5, None, True, "s", b"b", 3]
    lst[1], lst[2] = lst[2], lst[1]
    lst[5] = 3.0                        # equal, another type
    return pairs, lst


def main():
    print(adjacency())
    print([len(b["row"]) for b in widths()])
    print(rows_in_places())
    print(swaps())


main()
