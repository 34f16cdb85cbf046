"""Line events where only small ints changed, which the recorder records on a path of its
own (word deltas built in place), next to lines that look like them but do not qualify: a
flat list changed in place or rebound, an int rebound to another kind of value and back, a
deleted local, an equal int that is another object, more than four sequences, an
instance among the locals (and then rebound to an int).
"""
# e2e-args: 300


class Box:
    def __init__(self):
        self.n = 0


def counters(n):
    total = 0
    row = [1, 2, 3]
    pair = (4, 5)
    for i in range(n):
        total += i
        if i % 50 == 7:
            row[1] = i  # the list changed in place
        if i % 60 == 11:
            row = [i, i]  # rebound
        if i % 70 == 13:
            pair = (i,)
    return total, row, pair


def kinds(n):
    x = 0
    for i in range(n):
        x = i
        if i % 9 == 4:
            x = float(i)  # another kind, then the same int again
            x = i
        if i % 11 == 5:
            x = str(i)
        if i % 13 == 6:
            del x
            x = -i
    return x


def same_value(n):
    big = 10 ** 6
    for _ in range(n):
        big = big + 0  # an equal int, most often another object
        big = int(str(big))
    return big


def many_sequences(n):
    a, b, c, d, e = [1], [2], [3], [4], [5]
    k = 0
    for i in range(n):
        k = i * 2
        if i % 40 == 3:
            e.append(i)
    return k, a + b + c + d + e


def with_instance(n):
    box = Box()
    j = 0
    for i in range(n):
        j = i
        if i < n // 2:
            box.n = i
        elif i == n // 2:
            box = 99  # no instance among the locals any more
        j = j + 1
    return j, box


def main(n):
    return counters(n), kinds(n), same_value(n), many_sequences(n), with_instance(n)


if __name__ == "__main__":
    import sys

    print(main(int(sys.argv[1])))
