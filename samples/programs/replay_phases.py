"""Replay across chunks: three phases of small calls with a pause between them, so the
tape holds several chunks (a chunk seals every 0.5 s, or after 65536 events: run with
`3700 0` for >65536 events and no pause). main()'s frame and its locals live across
every chunk boundary; `total` and `results` change once per phase."""
# e2e-args: 600 0.6
import sys
import time


def mix(state, k):
    state = (state * 31 + k) % 1000003  # replay-marker: mix
    return state


def phase(name, rounds):
    state = len(name) * 7
    for k in range(rounds):
        state = mix(state, k)  # replay-marker: phase-call
    return state  # replay-marker: phase-return


def main(rounds, pause):
    results = {}  # replay-marker: main-results
    total = 0  # replay-marker: main-zero
    for name in ("alpha", "beta", "epsilon"):
        if results:
            time.sleep(pause)  # replay-marker: main-pause
        results[name] = phase(name, rounds)  # replay-marker: main-call
        total += results[name]  # replay-marker: main-total
    print(sorted(results.items()), total)  # replay-marker: main-print


main(int(sys.argv[1]), float(sys.argv[2]))
