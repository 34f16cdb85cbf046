"""The package is typed (PEP 561): `py.typed` ships with it, and `_core.pyi` describes the C++
module as it is. Every name of the module and of its two classes is in the stub and the
other way round, and each function's parameters are the ones pybind11 declares (the first
line of its docstring), so a binding changed without its stub fails here."""

import ast
import inspect
import re
from pathlib import Path

import tracetape
from tracetape import _core

PACKAGE = Path(tracetape.__file__).resolve().parent


def stub():
    """{name: [parameter names]} of the stub's functions, and {class: {member: [parameters]
    or None for a property}}."""
    tree = ast.parse((PACKAGE / "_core.pyi").read_text(encoding="utf-8"))
    functions, classes = {}, {}

    def params(node):
        return [a.arg for a in node.args.args if a.arg != "self"]

    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = params(node)
        elif isinstance(node, ast.ClassDef):
            members = classes[node.name] = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    is_property = any(isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list)
                    members[item.name] = None if is_property else params(item)
    return functions, classes


def declared(obj):
    """The parameter names pybind11 put in the first line of obj's docstring."""
    first = (obj.__doc__ or "").strip().splitlines()[0]
    m = re.match(r"[\w.]+\((.*)\) ->", first)
    assert m, first
    names = [p.split(":")[0].strip() for p in re.split(r",\s*(?![^\[]*\])", m.group(1)) if p.strip()]
    return [n for n in names if n != "self"]


def test_the_package_says_it_is_typed():
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_core.pyi").is_file()


def test_the_stub_names_what_the_module_has():
    functions, classes = stub()
    names = {n for n in dir(_core) if not n.startswith("__")}
    assert names == set(functions) | set(classes)
    for name, parameters in functions.items():
        assert parameters == declared(getattr(_core, name)), name
    for cls, members in classes.items():
        real = getattr(_core, cls)
        assert {m for m in dir(real) if not m.startswith("_")} == set(members) - {"__init__"}, cls
        assert members["__init__"] == declared(real.__init__), cls
        for member, parameters in members.items():
            if member == "__init__":
                continue
            attr = inspect.getattr_static(real, member)
            if parameters is None:
                assert isinstance(attr, property), (cls, member)
            else:
                assert parameters == declared(getattr(real, member)), (cls, member)
