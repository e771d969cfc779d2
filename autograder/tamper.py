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
  ``globals().update(...)``, and ``mock.patch``.
"""
from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Tuple

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
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("globals", "vars")


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


def scan(sources: List[Tuple[str, str]]) -> List[str]:
    """``[(where, code), ...]`` (e.g. ``("cell 12", source)``) -> one line per suspicious statement."""
    parsed = []
    for where, code in sources:
        try:
            parsed.append((where, pyparse.parse(code)))
        except (SyntaxError, ValueError, RecursionError):
            continue
    aliases = _import_aliases(tree for _, tree in parsed)

    def watched_root(node: ast.AST) -> bool:
        name = _root(node)
        return name is not None and name in aliases and _watched(aliases[name])

    found: List[str] = []
    for where, tree in parsed:
        for node in ast.walk(tree):
            line = getattr(node, "lineno", None)
            at = f"{where}, line {line}" if line else where
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
                            _is_sys_modules(sub.value, aliases) or _is_globals_call(sub.value)
                            or (isinstance(sub.value, ast.Name) and sub.value.id == "__builtins__")):
                        found.append(f"{at}: changes `{_dotted(sub)}`")
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args \
                        and (watched_root(node.args[0]) or _root(node.args[0]) in ("__builtins__",)):
                    found.append(f"{at}: `{func.id}` on `{_dotted(node.args[0])}`")
                elif isinstance(func, ast.Attribute) and func.attr in MUTATORS and (
                        _is_sys_modules(func.value, aliases) or _is_globals_call(func.value)):
                    found.append(f"{at}: changes `{_dotted(func.value)}` with `{func.attr}`")
                elif (isinstance(func, ast.Attribute) and func.attr in ("patch", "patch_object")
                      and "mock" in _dotted(func.value)) or (
                        isinstance(func, ast.Name) and aliases.get(func.id, "").startswith("unittest.mock.patch")):
                    found.append(f"{at}: `{_dotted(func)}`")
    return list(dict.fromkeys(found))
