"""Imports a second module from its own directory and calls into it."""
import helpers_mod
from helpers_mod import Shape, convert


def main():
    shapes = [Shape("circle", 1), Shape("rect", 2, 3)]
    print(round(helpers_mod.total_area(shapes), 3))
    print(convert(250, "cm"), convert(250, "cm"), convert(3, "mm"))
    try:
        Shape("hexagon", 1).area()
    except ValueError as exc:
        print("error:", exc)
    print(helpers_mod.squares, sorted(helpers_mod._cache))


main()
