"""Records a realistic workload of about N events (default 10 million) for the
replay benchmark: recursion, loops, object and container mutation, exceptions.

usage: python bench/make_replay_tape.py OUT.tape [EVENTS]
"""

import subprocess
import sys

WORKLOAD = r'''
import sys

class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def churn(accounts, rounds):
    moved = 0
    for r in range(rounds):
        src = accounts[r % len(accounts)]
        dst = accounts[(r * 7 + 3) % len(accounts)]
        amount = (r * 13) % 50
        try:
            if amount > src.balance:
                raise ValueError("insufficient")
            src.balance -= amount
            dst.balance += amount
            moved += amount
        except ValueError:
            pass
    return moved

def main(target):
    accounts = [Account("acct%d" % i, 100) for i in range(20)]
    done = 0
    while done < target:
        fib(12)
        churn(accounts, 200)
        done += 3500
    return 0

main(int(sys.argv[1]))
'''


def main():
    out = sys.argv[1]
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    script = out + ".workload.py"
    with open(script, "w") as f:
        f.write(WORKLOAD)
    # ~ 3500 events per round of main's loop (fib(12) ~ 1400, churn ~ 2200).
    subprocess.run([sys.executable, "-m", "tracetape", "record", "-o", out, script, str(events)], check=True)


if __name__ == "__main__":
    main()
