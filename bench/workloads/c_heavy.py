"""C-heavy: json dumps/loads and regular expressions on realistic records. Most
of the time is spent in C (the json accelerator, the re engine); the Python
lines are few, so a recorder's cost per event matters less than its fixed costs.

usage: python c_heavy.py [ROUNDS]   (see bench/README.md)
"""
import json
import re

from _timing import run

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
         "rho sigma tau upsilon phi chi psi omega").split()


def make_records(count):
    records = []
    for i in range(count):
        name = WORDS[i % len(WORDS)] + str(i)
        records.append({
            "id": i,
            "name": name,
            "email": f"{name}@example{i % 7}.org",
            "joined": f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "score": (i * 37 % 1000) / 10.0,
            "active": i % 3 != 0,
            "tags": [WORDS[(i + k) % len(WORDS)] for k in range(i % 5)],
            "address": {"street": f"{i} {WORDS[i % 11]} road", "zip": f"{10000 + i * 7 % 89999}"},
            "note": " ".join(WORDS[(i * k) % len(WORDS)] for k in range(12)),
        })
    return records


def main(rounds):
    records = make_records(400)
    emails = dates = size = 0
    for r in range(rounds):
        text = json.dumps(records, sort_keys=(r % 2 == 0))
        size += len(text)
        back = json.loads(text)
        emails += len(EMAIL.findall(text))
        for m in DATE.finditer(text):
            dates += int(m.group(2))
        back[r % len(back)]["note"] = EMAIL.sub("<email>", back[r % len(back)]["email"])
    return size, emails, dates


if __name__ == "__main__":
    run(main, 60)
