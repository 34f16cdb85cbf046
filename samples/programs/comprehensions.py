"""Comprehensions and generator expressions, at module level and in functions."""

numbers = list(range(12))
evens = [n for n in numbers if n % 2 == 0]
squares = {n: n * n for n in evens}
residues = {n % 5 for n in numbers}
total = sum(n * 3 for n in numbers if n > 6)


def grid(rows, cols):
    return [[r * cols + c for c in range(cols)] for r in range(rows)]


def transpose(matrix):
    return [list(column) for column in zip(*matrix)]


def word_stats(words):
    lengths = {w: len(w) for w in words}
    initials = {w[0] for w in words}
    longest = max((len(w), w) for w in words)
    pairs = [(a, b) for a in words for b in words if a < b and a[0] == b[0]]
    return lengths, initials, longest, pairs


def main():
    matrix = grid(3, 4)
    print(matrix)
    print(transpose(matrix))
    lengths, initials, longest, pairs = word_stats(
        ["ant", "bee", "bat", "cat", "cow", "crab"])
    print(lengths, sorted(initials), longest, pairs)
    flat = [x for row in matrix for x in row if x % 3]
    print(flat)
    gen = (x * x for x in flat)
    print(next(gen), next(gen), list(gen))


print(evens, squares, sorted(residues), total)
main()
