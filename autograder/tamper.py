"""Find notebook code that changes what the grade cells rely on.

Under ``nbgrader autograde`` the hidden checks run in the student's own kernel, after
the student's cells: a notebook that redefines ``self_check``, patches the
``autograder`` package, a built-in or a NumPy function the checks use, or swaps a
module in ``sys.modules`` can award itself points there. The standalone grader does
not run those lines (it extracts the exercise functions and runs the checks in its
own process), so its score is unaffected; it reports them so the instructor can see
who tried (``results.json``'s ``extra_data["tampering"]``, the feedback file and the
``problems`` column of ``grades.csv``).

The scan is static (Python's ``ast``) and deliberately narrow, to flag what matters
without flagging ordinary notebook code (``plt.rcParams[...] = ...``,
``np.random.seed(0)``, ``pd.options.display.max_rows = 10``):

* binding the name ``self_check`` (``def``, assignment, ``import ... as self_check``,
  a ``for``/``with`` target) other than importing it from ``autograder``; binding
  the names ``autograder``, ``builtins`` or ``__builtins__``;
* assigning or deleting an attribute of a module the checks rely on, or of anything
  imported from one (``np.allclose = ...``, ``autograder.selfcheck.run_checks = ...``,
  ``builtins.isinstance = ...``, ``self_check.__code__ = ...``);
* ``setattr``/``delattr`` on those, item assignment into ``__builtins__``,
  ``sys.modules`` or ``globals()``, mutating ``sys.modules`` (``update``, ``pop``...),
  ``globals().update(...)``, and ``mock.patch``;
* writing through a namespace: item assignment, deletion or a mutating method on
  ``anything.__globals__`` (``self_check.__globals__["run_checks"] = ...``), on the
  ``__dict__`` or ``vars()`` of a module or function (``np.__dict__["allclose"] = ...``,
  ``vars(np).update(...)``), ``locals()`` at a notebook's top level, and ``setattr`` on
  any of those or on ``type(...)``; names bound to a watched module (``m = np``)
  count as that module;
* ``exec``/``eval``/``compile`` of a string built at run time
  (``exec("".join(["self_", "check = ..."]))``): the scan cannot see what it runs.
  A literal string is parsed and scanned like the cell itself.
"""
from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Optional, Tuple

from autograder import pyparse

WATCHED = ("autograder", "builtins", "numpy", "sys", "math", "operator", "functools", "importlib", "pickle",
           "json", "unittest")
PROTECTED_NAMES = ("self_check", "autograder", "builtins", "__builtins__")
MUTATORS = ("update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__")


def _watched(module: str) -> bool:
    return module.split(".", 1)[0] in WATCHED


def _root(node: ast.AST):
    """The Name at the root of ``a.b.c`` / ``a[b].c``, or None."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)[:80]
    except Exception:  # noqa: BLE001
        return "?"


def _is_sys_modules(node: ast.AST, aliases: Dict[str, str]) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "modules" and isinstance(node.value, ast.Name)
            and aliases.get(node.value.id) == "sys")


def _is_globals_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("globals", "vars",
                                                                                              "locals")


NAMESPACE_ATTRS = ("__globals__", "__dict__", "__builtins__", "__code__", "__closure__", "__defaults__",
                   "__kwdefaults__")
RUNNERS = ("exec", "eval", "compile")


def _import_aliases(trees: Iterable[ast.AST]) -> Dict[str, str]:
    """name -> the module (or module attribute) an import statement bound it to, over the whole notebook."""
    aliases: Dict[str, str] = {"__builtins__": "builtins"}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _bound_names(node: ast.AST) -> List[Tuple[str, ast.AST]]:
    out = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out.append((node.name, node))
    elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.withitem,
                           ast.NamedExpr)):
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.optional_vars] if isinstance(node, ast.withitem) else [node.target])
        for t in targets:
            for sub in ast.walk(t) if t is not None else []:
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    out.append((sub.id, node))
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for a in node.names:
            name = a.asname or a.name.split(".")[0]
            legit = (isinstance(node, ast.ImportFrom) and name == "self_check" and a.name == "self_check"
                     and (node.module or "").split(".")[0] == "autograder")
            legit |= isinstance(node, ast.Import) and not a.asname  # `import builtins`, `import autograder`
            if not legit:
                out.append((name, node))
    elif isinstance(node, ast.Global):
        pass
    return out


def _base(node: ast.AST) -> ast.AST:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node


def _is_type_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type"


def _runner(func: ast.AST, aliases: Dict[str, str]) -> str:
    """``"exec"``/``"eval"``/``"compile"`` if ``func`` is that built-in (also as ``builtins.exec``), else ``""``."""
    if isinstance(func, ast.Name) and func.id in RUNNERS and func.id not in aliases:
        return func.id
    if isinstance(func, ast.Name) and aliases.get(func.id, "") in tuple(f"builtins.{r}" for r in RUNNERS):
        return aliases[func.id].split(".")[1]
    if isinstance(func, ast.Attribute) and func.attr in RUNNERS and isinstance(func.value, ast.Name) \
            and aliases.get(func.value.id) == "builtins":
        return func.attr
    return ""


def _follow_assignments(aliases: Dict[str, str], trees: List[ast.AST]) -> None:
    """``m = np`` / ``f = self_check``: the new name stands for what it was bound to (in place)."""
    for _ in range(3):  # chains of a few renames
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute)):
                    source = _root(node.value)
                    if source in aliases and _watched(aliases[source]):
                        for t in node.targets:
                            if isinstance(t, ast.Name) and t.id not in aliases:
                                aliases[t.id] = aliases[source]


def scan(sources: List[Tuple[str, str]], _outer: Optional[Dict[str, str]] = None, _depth: int = 0) -> List[str]:
    """``[(where, code), ...]`` (e.g. ``("cell 12", source)``) -> one line per suspicious statement."""
    if _depth > 5:
        return ["an `exec` of a string nested more than 5 times"]
    parsed = []
    for where, code in sources:
        try:
            parsed.append((where, pyparse.parse(code)))
        except (SyntaxError, ValueError, RecursionError):
            continue
    aliases = {**(_outer or {}), **_import_aliases(tree for _, tree in parsed)}
    _follow_assignments(aliases, [tree for _, tree in parsed])

    def watched_root(node: ast.AST) -> bool:
        name = _root(node)
        return name is not None and name in aliases and _watched(aliases[name])

    def namespace_of_watched(node: ast.AST) -> bool:
        """``node`` is a namespace whose items are what the checks look up: ``f.__globals__`` (any ``f``),
        ``np.__dict__``, ``vars(np)``, ``globals()``, or ``type(x)`` and the like."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and sub.attr == "__globals__":
                return True
            if isinstance(sub, ast.Attribute) and sub.attr in NAMESPACE_ATTRS and (
                    watched_root(sub.value) or _root(sub.value) in aliases or not isinstance(_base(sub), ast.Name)):
                return True
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "vars" and (
                    not sub.args or watched_root(sub.args[0]) or _root(sub.args[0]) in aliases
                    or namespace_of_watched(sub.args[0])):
                return True
        return _is_globals_call(node) or _is_sys_modules(node, aliases)

    found: List[str] = []
    for where, tree in parsed:
        for node in ast.walk(tree):
            line = getattr(node, "lineno", None)
            at = (f"{where}, line {line}" if where else f"line {line}") if line else where
            for name, _ in _bound_names(node):
                if name in PROTECTED_NAMES:
                    found.append(f"{at}: redefines `{name}`")
            targets: List[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif isinstance(node, ast.Delete):
                targets = list(node.targets)
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, (ast.Store, ast.Del)) \
                            and watched_root(sub):
                        found.append(f"{at}: changes `{_dotted(sub)}`")
                    elif isinstance(sub, ast.Subscript) and isinstance(sub.ctx, (ast.Store, ast.Del)) and (
                            namespace_of_watched(sub.value)
                            or (isinstance(sub.value, ast.Name) and sub.value.id == "__builtins__")):
                        found.append(f"{at}: changes `{_dotted(sub)}`")
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args \
                        and (watched_root(node.args[0]) or _root(node.args[0]) in ("__builtins__",)
                             or namespace_of_watched(node.args[0]) or _is_type_call(node.args[0])):
                    found.append(f"{at}: `{func.id}` on `{_dotted(node.args[0])}`")
                elif isinstance(func, ast.Attribute) and func.attr in MUTATORS and namespace_of_watched(func.value):
                    found.append(f"{at}: changes `{_dotted(func.value)}` with `{func.attr}`")
                elif _runner(func, aliases):
                    code = node.args[0] if node.args else None
                    if isinstance(code, ast.Constant) and isinstance(code.value, str):
                        found.extend(f"{at}: in `{_runner(func, aliases)}` of a string, {inner}"
                                     for inner in scan([("", code.value)], aliases, _depth + 1))
                    elif not (isinstance(code, ast.Constant) and isinstance(code.value, bytes)):
                        found.append(f"{at}: `{_runner(func, aliases)}` of a string built at run time "
                                     f"(`{_dotted(code) if code is not None else ''}`): the grader cannot see "
                                     f"what it runs")
                elif (isinstance(func, ast.Attribute) and func.attr in ("patch", "patch_object")
                      and "mock" in _dotted(func.value)) or (
                        isinstance(func, ast.Name) and aliases.get(func.id, "").startswith("unittest.mock.patch")):
                    found.append(f"{at}: `{_dotted(func)}`")
    return list(dict.fromkeys(found))
