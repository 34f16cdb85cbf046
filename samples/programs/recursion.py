"""Recursion: plain, mutual, with accumulators, and through a C builtin."""


def factorial(n):
    if n <= 1:
        return 1
    return n * factorial(n - 1)


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def flatten(tree, acc=None):
    if acc is None:
        acc = []
    for node in tree:
        if isinstance(node, list):
            flatten(node, acc)
        else:
            acc.append(node)
    return acc


def depth_of(tree):
    if not isinstance(tree, list) or not tree:
        return 0
    return 1 + max(map(depth_of, tree))


def hanoi(n, src, dst, via, moves):
    if n == 0:
        return moves
    hanoi(n - 1, src, via, dst, moves)
    moves.append((src, dst))
    hanoi(n - 1, via, dst, src, moves)
    return moves


def main():
    print("factorial(12) =", factorial(12))
    print("fib(9) =", fib(9))
    print("is_even(7) =", is_even(7))
    tree = [1, [2, [3, [4, [5]]]], [6, 7]]
    print("flatten =", flatten(tree))
    print("depth =", depth_of(tree))
    moves = hanoi(4, "A", "C", "B", [])
    print("hanoi moves:", len(moves), moves[:3])


main()
