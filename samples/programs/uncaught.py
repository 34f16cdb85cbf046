"""Ends with an uncaught exception raised deep in the call stack: exit status 1."""
# e2e-exit: 1


class ConfigError(Exception):
    pass


def parse_line(line):
    key, value = line.split("=")
    return key.strip(), value.strip()


def load(lines):
    config = {}
    for number, line in enumerate(lines, 1):
        try:
            key, value = parse_line(line)
        except ValueError as exc:
            raise ConfigError("line %d is malformed: %r" % (number, line)) from exc
        config[key] = value
    return config


def main():
    good = load(["a = 1", "b = 2"])
    print("loaded", good)
    load(["c = 3", "broken line", "d = 4"])
    print("not reached")


main()
