"""Ranges and datetime values (rule 12 of docs/RENDERING.md): rendered as their repr
where that runs only the datetime module's C code, opaque where a tzinfo, offset or
name could run the program's own code, which the recorder must never call."""

import datetime as dt

CALLED = []


class Name(str):
    def __repr__(self):
        CALLED.append("Name.__repr__")
        return "Name()"


class Offset(dt.timedelta):
    def __repr__(self):
        CALLED.append("Offset.__repr__")
        return "Offset()"


class Zone(dt.tzinfo):
    def utcoffset(self, when):
        CALLED.append("Zone.utcoffset")
        return dt.timedelta(hours=5)

    def __repr__(self):
        CALLED.append("Zone.__repr__")
        return "Zone()"


class Stamp(dt.datetime):
    pass


def ranges():
    r = range(10)
    steps = [range(0, 10, 3), range(5, -5, -1), range(0)]
    r = range(2, 9)
    big = range(-2 ** 70, 2 ** 70, 2 ** 65)
    huge = range(2 ** 5000)
    total = 0
    for k in r:
        total += k
    return steps, big, huge.start, total


def dates():
    start = dt.date(2024, 2, 28)
    day = dt.timedelta(days=1)
    days = []
    for _ in range(3):
        start = start + day
        days.append(start)
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 6)
    when = when.replace(fold=1)
    utc = when.replace(tzinfo=dt.timezone.utc)
    hour = dt.timezone(dt.timedelta(hours=1))
    named = dt.timezone(dt.timedelta(hours=-3, minutes=-30), "NST")
    local = utc.astimezone(named)
    noon = dt.time(12, tzinfo=hour)
    table = {"start": start, "noon": noon, "spans": (day, -day, dt.timedelta(0))}
    table["noon"] = dt.time(13, 30, 15, 1)
    return days, local, table


def opaque():
    odd_name = dt.timezone(dt.timedelta(hours=2), Name("x"))
    odd_offset = dt.timezone(Offset(hours=2))
    zone = Zone()
    at = dt.datetime(2024, 1, 1, tzinfo=zone)
    t = dt.time(1, tzinfo=odd_name)
    s = Stamp(2024, 1, 1)
    s.label = "sub"
    mixed = [odd_offset, at, dt.date(2000, 1, 1)]
    return odd_name, t, s, mixed


def reuse():
    # An opaque aware datetime freed and a readable naive one made in its
    # block (both fit pymalloc's 48-byte class) within one event.
    zone = Zone()
    slots = [dt.datetime(2024, 1, 1, tzinfo=zone)]
    for day in range(2, 6):
        slots.pop(); slots.append(dt.datetime(2024, 5, day))  # noqa: E702
        slots.pop(); slots.append(dt.datetime(2024, 1, day, tzinfo=zone))  # noqa: E702
    return len(slots)


def main():
    print(ranges())
    print(dates())
    found = opaque()
    print(reuse())
    same = found
    if CALLED:
        raise SystemExit("the recorder ran the program's code: %s" % CALLED)
    return same


main()
