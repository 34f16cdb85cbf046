"""Module-level code: globals changed at top level, functions and classes defined, imports."""
import json
import os.path
import sys
import warnings
from functools import reduce
from operator import mul

counter = 0
names = []
for letter in "abcde":
    counter += 1
    names.append(letter.upper() * counter)

if counter > 3:
    status = "many"
else:
    status = "few"

while counter > 2:
    counter -= 2

product = reduce(mul, range(1, 7))
encoded = json.dumps({"names": names, "product": product}, sort_keys=True)
base = os.path.basename("/tmp/some/file.txt")
annotated: int = 41
annotated += 1


def bump(amount):
    global counter
    counter += amount
    return counter


class Registry:
    entries = []
    limit = 2 + 3

    def register(self, name):
        self.entries.append(name)
        return len(self.entries)


registry = Registry()
registry.register("first")
bump(10)
temporary = [counter, status]
del temporary
with open(os.devnull, "w") as sink:
    sink.write(encoded)
print(counter, status, product, base, annotated, Registry.entries, encoded)
print("a line on stderr", file=sys.stderr)
warnings.warn("registry has %d entries" % len(Registry.entries))
