"""Runs with arguments; checks the __main__ environment is the one `python SCRIPT` gives."""
# e2e-args: alpha 2 --flag "two words"
import os
import sys


def parse(argv):
    options = {"flags": [], "words": []}
    for arg in argv:
        if arg.startswith("--"):
            options["flags"].append(arg[2:])
        else:
            options["words"].append(arg)
    return options


def main():
    options = parse(sys.argv[1:])
    print(options)
    print("script:", os.path.basename(sys.argv[0]))
    print("__name__:", __name__)
    print("__file__ is absolute:", os.path.isabs(__file__))
    print("path[0] is the script dir:",
          sys.path[0] == os.path.dirname(os.path.realpath(__file__)))
    print("main module:", sys.modules["__main__"].__dict__ is globals())


if __name__ == "__main__":
    main()
