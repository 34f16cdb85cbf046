"""The --long run: a tight loop of N iterations (about two line events each,
so 50M iterations give ~100M events), to show that the recorder's memory stays
bounded however long the run. Not part of the default matrix.

usage: python long_loop.py [N]
"""

from _timing import run



def main(n):
    total = 0
    for i in range(n):
        total += i & 7
    return total


if __name__ == "__main__":
    run(main, 50_000_000)
