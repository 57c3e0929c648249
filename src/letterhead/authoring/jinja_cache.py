"""Letterhead's Jinja: the sandboxed environment templates render in, the
loader that protects SES placeholders (:mod:`letterhead.authoring.protect`)
and confines reads to the project, the gettext callables, and Jinja's
bytecode cache, signed: compiled templates kept between runs.

The cache is Python code that runs with the build's rights, outside the
sandbox, and it lives in the checkout (``.letterhead-cache/jinja``, which a
pull request can fill): every file is signed with a key kept in the user's
cache folder, and a file without a valid signature is ignored (and compiled
again).
"""

from __future__ import annotations

import hmac
import io
import os
import re
import secrets
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from types import CodeType
from typing import Any, NamedTuple

import jinja2
import jinja2.bccache
import jinja2.runtime
import jinja2.sandbox

from ..config import Config
from .confine import outside_reason
from .linemarks import LineMarks
from .protect import PlaceholderTable, check_source
from .sources import read_text


class Escapes(jinja2.TemplateError):
    """An include, extends or import names a file outside the project (or
    the file is a link that leads there): raised inside Jinja so that the
    error can point at the statement (Jinja's own path check is skipped by
    :meth:`ProtectingLoader.get_source`, which replaces FileSystemLoader's)."""


class TooComplex(jinja2.TemplateError):
    """Jinja could not compile a template to Python (nesting too deep for
    Python's parser or for the recursion limit)."""

    def __init__(self, message: str, filename: str | None, lineno: int | None) -> None:
        super().__init__(message)
        self.filename = filename
        self.lineno = lineno


class ProtectingLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that tokenizes SES mustaches, insists on UTF-8 and
    reads nothing outside the project (:mod:`letterhead.authoring.confine`)."""

    def __init__(self, root: Path, table: PlaceholderTable, config: Config, *, keep: bool = False) -> None:
        """``keep``: the files do not change while this loader lives (one
        build): each one's protected source is kept by name (the compiler
        reads subject.txt and text.txt itself before Jinja loads them; the
        placeholders and line marks the reading registered stay registered)."""
        super().__init__(str(root), encoding="utf-8")
        self.table = table
        self.config = config
        self.lines = LineMarks()
        self.kept: dict[str, tuple[str, str, Callable[[], bool]]] | None = {} if keep else None

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        kept = self.kept
        if kept is not None:
            found = kept.get(template)
            if found is None:
                found = kept[template] = self._read(template)
            return found
        return self._read(template)

    def _read(self, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = template.split("/")
        if template.startswith("/") or ".." in pieces:
            raise Escapes(f'"{template}" leaves the template folder: paths are relative to '
                           f"{self.config.rel(self.config.source_dir)}/ and cannot start with / or hold '..'")
        for searchpath in self.searchpath:
            path = Path(searchpath, *pieces)
            if path.is_file():
                break
        else:
            raise jinja2.TemplateNotFound(template)
        reason = outside_reason(path, self.config.root)
        if reason is not None:
            raise Escapes(f'"{template}" {reason}: letterhead will not read it')
        text = read_text(path)
        rel = self.config.rel(path)
        check_source(text, rel)
        protected = self.table.protect(text, rel)
        if template.endswith(".mjml"):
            protected = self.lines.mark(protected, rel)
        mtime = path.stat().st_mtime
        return protected, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime


class SandboxEnvironment(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's sandbox (a template may read brand values and use filters and
    tests, never reach Python: ``lipsum.__globals__.os`` is refused), whose
    compile failures below Jinja (Python's parser refusing 100 nested
    blocks, the recursion limit) become :class:`TooComplex` with the
    template line."""

    # ``*`` and ``**`` can make a result of any size ("a" * 10**12, 9**9**9)
    # and Jinja folds constant expressions while compiling: intercepted, they
    # are computed by call_binop (never folded) and refused past a size.
    intercepted_binops = frozenset({"*", "**"})
    MAX_RESULT = 1_000_000  # characters or items of a repetition; digits of a power

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right * max(abs(left).bit_length(), 1) * 0.302 > self.MAX_RESULT:
            raise jinja2.exceptions.SecurityError(f"the power {left} ** {right} is too large")
        if operator == "*":
            count, seq = (left, right) if isinstance(left, int) else (right, left)
            if isinstance(count, int) and isinstance(seq, (str, list, tuple)) \
                    and count * max(len(seq), 1) > self.MAX_RESULT:
                what = "a string" if isinstance(seq, str) else "a list"
                raise jinja2.exceptions.SecurityError(f"repeating {what} {count:,} times makes a result too large")
        return super().call_binop(context, operator, left, right)

    # Template code calls every function through call() and reads every
    # ``a.b`` through getattr(): the sandbox's checks (and Jinja's
    # pass_context dispatch) cost more than most calls.  Two kinds of call
    # and one kind of read skip them, doing what they would have done:
    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A macro or a gettext callable (:class:`Messages`): safe, without
        ``pass_context``; so Jinja would only drop its private keywords, call
        it and turn a StopIteration into an undefined value."""
        cls = type(__obj)
        if cls is not Messages and cls is not jinja2.runtime.Macro:
            if __obj is not __self.globals.get("_") or "gettext" in (kwargs.get("_loop_vars") or ()) \
                    or "gettext" in (kwargs.get("_block_vars") or ()):
                return super().call(__context, __obj, *args, **kwargs)
            # _("…"): Jinja's alias calls the gettext it resolves in the
            # context (a block's or loop's own variable first).
            __obj = __context.resolve_or_missing("gettext")
            if type(__obj) is not Messages:
                return super().call(__context, __self.globals["_"], *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.undefined("value was undefined because a callable raised a StopIteration exception")

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``brand.colors``: a plain dict's key when dict has no attribute of
        that name (which the sandbox would look up, and check, first).
        ``ui.button``: a macro of an imported template, which the sandbox
        lets through when the name has no leading ``_`` (a TemplateModule is
        none of the types it guards, nor a known mutable; a macro is no
        ``str.format``)."""
        cls = type(obj)
        if cls is dict and type(attribute) is str and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        if cls is jinja2.environment.TemplateModule and type(attribute) is str and attribute[:1] != "_":
            value = obj.__dict__.get(attribute)
            if type(value) is jinja2.runtime.Macro:
                return value
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals: the environment's (set once, when the
        compiler installs its gettext callables, before any template
        loads) with the template's own over them, as one dict.  Jinja's
        ChainMap of the two is iterated in Python twice for every context
        (each render, include and import with context)."""
        return {**self.globals, **d} if d else dict(self.globals)

    def compile(self, source: str | jinja2.nodes.Template, name: str | None = None,  # type: ignore[override]
                filename: str | None = None, raw: bool = False, defer_init: bool = False) -> str | CodeType:
        try:
            code: str | CodeType = super().compile(source, name, filename, raw, defer_init)  # type: ignore[call-overload]
            return code
        except (SyntaxError, RecursionError, MemoryError) as exc:
            lineno = None
            if isinstance(exc, SyntaxError) and exc.lineno and isinstance(source, str):
                lineno = self._template_line(source, name, filename, exc.lineno)
            what = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
            raise TooComplex(f"too deeply nested to compile ({what})", filename, lineno) from None

    def _template_line(self, source: str, name: str | None, filename: str | None, code_line: int) -> int | None:
        """The template line of a line of the Python code Jinja generated
        (from the ``debug_info`` Jinja writes at its end)."""
        try:
            code = super().compile(source, name, filename, raw=True)
        except Exception:
            return None
        m = re.search(r"^debug_info = '([\d=&]*)'", str(code), re.MULTILINE)
        best = None
        for pair in (m.group(1).split("&") if m and m.group(1) else ()):
            tline, cline = (int(x) for x in pair.split("="))
            if cline <= code_line:
                best = tline
        return best


_DICT_ATTRIBUTES = frozenset(dir(dict))  # what getattr() finds on a plain dict (it has no __dict__)


class Messages:
    """One of the gettext callables a compiler installs: a message already
    translated for the current catalogue (the compiler's memo, see
    ``letterhead.authoring.compile.Compiler._translate_once``) is answered here; any other call goes to
    ``slow``, which translates it (and words the error of a call with the
    wrong arguments)."""

    __slots__ = ("kind", "slow", "state")

    def __init__(self, state: MessageState, kind: str, slow: Callable[..., str]) -> None:
        self.state, self.kind, self.slow = state, kind, slow

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        state = self.state
        memo = state.memo
        if memo is not None and not kwargs:
            try:
                found = memo.get((self.kind, *args))
            except TypeError:  # an unhashable argument: the slow path says what is wrong
                found = None
            if found is not None:
                if found[1] is not None:
                    state.untranslated.append(found[1])
                return found[0]
        return self.slow(*args, **kwargs)


class MessageState:
    """What a compiler's gettext callables share: the variant's memo of
    translations (message key → (text, the message it left untranslated or
    None); None: nothing kept) and the messages left untranslated so far."""

    __slots__ = ("memo", "untranslated")

    def __init__(self) -> None:
        self.memo: dict[tuple[Any, ...], tuple[str, str | None]] | None = None
        self.untranslated: list[str] = []


# -- subject.txt and text.txt without Jinja (Compiler._render_text) ------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_BRAND_EXPR_RE = re.compile(rf"\[\[[ \t]*brand((?:\.{_NAME})+)[ \t]*\]\]")
_JINJA_OPENER_RE = re.compile(r"\{%|\[\[|\[#")  # what Jinja's lexer looks for in text
_TRANS_VAR = rf"{_NAME}[ \t]*=[ \t]*brand(?:\.{_NAME})+"
_TRANS_OPEN_RE = re.compile(rf"\{{%[ \t]*trans(?:[ \t]+({_TRANS_VAR}(?:[ \t]*,[ \t]*{_TRANS_VAR})*))?[ \t]*%\}}")
_TRANS_VAR_RE = re.compile(rf"({_NAME})[ \t]*=[ \t]*brand((?:\.{_NAME})+)")
_TRANS_CLOSE_RE = re.compile(r"\{%[ \t]*endtrans[ \t]*%\}")
_TRANS_NAME_RE = re.compile(rf"\[\[[ \t]*({_NAME})[ \t]*\]\]")
_TRIM_RE = re.compile(r"\s*\n\s*")  # Jinja's i18n extension trims a body with this
# Names a {% trans %} tag reads otherwise (options, literals, operators): left to Jinja.
_TRANS_RESERVED = frozenset({"trimmed", "notrimmed", "true", "false", "none", "True", "False", "None",
                             "and", "or", "not", "in", "is", "if", "else", "pluralize"})

# A text file as a sequence of plain pieces and {% trans %} blocks, each
# block (msgid, {name: value} to format the translation with, or None).
TextPlan = tuple["str | tuple[str, dict[str, str] | None]", ...]


def brand_value(brand: Mapping[str, Any], path: str) -> str | None:
    """``brand.a.b`` (``path``: ".a.b") printed as Jinja would, when it is a
    string or an integer; None for anything else."""
    value: Any = brand
    for key in path[1:].split("."):
        # Jinja looks up attributes before keys (brand.items is dict.items).
        if not isinstance(value, dict) or key not in value or hasattr(value, key):
            return None
        value = value[key]
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    return str(value)


def text_plan(text: str, brand: Mapping[str, Any]) -> TextPlan | None:
    """How Jinja renders ``text`` when its only Jinja syntax is ``[[ brand.a.b ]]``
    (string or integer values), ``[# comments #]`` and ``{% trans %}`` blocks
    whose variables are brand values (``{% trans name=brand.a %}…[[ name ]]…
    {% endtrans %}``, every one used): the i18n extension's msgid (``%``
    doubled when the body has a variable, the body trimmed) and the values
    its translation is formatted with.  None for anything else (whitespace
    control, filters, other statements, an unknown key…): Jinja renders it,
    or words the error."""
    if "\r" in text:  # Jinja's lexer rewrites line ends
        return None
    plan: list[str | tuple[str, dict[str, str] | None]] = []
    plain: list[str] = []
    pos = 0
    while (m := _JINJA_OPENER_RE.search(text, pos)) is not None:
        start = m.start()
        plain.append(text[pos:start])
        if m.group() == "[#":  # a comment ends at the first "#]"; "[#-", "-#]" and the like trim whitespace
            end = text.find("#]", start + 2)
            if end == -1 or text[start + 2 : start + 3] in ("-", "+") or (text[end - 1] in "-+" and end > start + 2):
                return None
            pos = end + 2
        elif m.group() == "[[":
            expr = _BRAND_EXPR_RE.match(text, start)
            value = brand_value(brand, expr.group(1)) if expr else None
            if expr is None or value is None:
                return None
            plain.append(value)
            pos = expr.end()
        else:
            tag = _TRANS_OPEN_RE.match(text, start)
            end = text.find("{%", tag.end()) if tag else -1
            close = _TRANS_CLOSE_RE.match(text, end) if end != -1 else None
            if tag is None or close is None:
                return None
            values: dict[str, str] = {}
            for var in _TRANS_VAR_RE.finditer(tag.group(1) or ""):
                value = brand_value(brand, var.group(2))
                if value is None or var.group(1) in values or var.group(1) in _TRANS_RESERVED:
                    return None
                values[var.group(1)] = value
            body = text[tag.end() : end]
            if "[#" in body:
                return None
            pieces: list[str] = []
            referenced: set[str] = set()
            at = 0
            while (k := body.find("[[", at)) != -1:
                name = _TRANS_NAME_RE.match(body, k)
                if name is None:
                    return None
                pieces.append(body[at:k].replace("%", "%%"))
                pieces.append(f"%({name.group(1)})s")
                referenced.add(name.group(1))
                at = name.end()
            pieces.append(body[at:].replace("%", "%%"))
            msgid = _TRIM_RE.sub(" ", "".join(pieces).strip())
            if referenced != set(values):  # a name from elsewhere, or a value the body does not print
                return None
            plan.append("".join(plain))
            plain = []
            plan.append((msgid, values) if referenced else (msgid.replace("%%", "%"), None))
            pos = close.end()
    plain.append(text[pos:])
    plan.append("".join(plain))
    return tuple(plan)



class SignedBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache is Python code that runs with the build's rights,
    outside the sandbox, and it lives in the checkout (.letterhead-cache/,
    which a pull request can fill).  Each file is signed with a key kept in
    the user's cache folder; a file without a valid signature is ignored
    (and compiled again)."""

    def __init__(self, directory: str, key: bytes) -> None:
        super().__init__(directory, "sandboxed-%s.cache")
        self.key = key

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with open(self._get_cache_filename(bucket), "rb") as fh:
                data = fh.read()
        except OSError:
            return
        mac, body = data[:32], data[32:]
        if hmac.compare_digest(mac, hmac.digest(self.key, body, "sha256")):
            bucket.load_bytecode(io.BytesIO(body))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        buf = io.BytesIO()
        bucket.write_bytecode(buf)
        body = buf.getvalue()
        super().dump_bytecode(SignedBucket(bucket.key, hmac.new(self.key, body, "sha256").digest() + body))  # type: ignore[arg-type]


class SignedBucket(NamedTuple):
    """What FileSystemBytecodeCache.dump_bytecode needs of a bucket."""

    key: str
    data: bytes

    def write_bytecode(self, f: Any) -> None:
        f.write(self.data)


def signing_key() -> bytes | None:
    """The user's bytecode signing key (made on first use), outside any
    checkout; None when it cannot be read or made."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "letterhead", "bytecode.key")
    try:
        with open(path, "rb") as fh:
            key = fh.read()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        os.replace(tmp, path)
        return key
    except OSError:
        return None


def bytecode_cache(config: Config) -> jinja2.BytecodeCache | None:
    """Compiled Jinja templates, kept between runs (Jinja spends ~6 ms
    compiling each file; loading its bytecode costs ~0.2 ms)."""
    key = signing_key()
    if key is None:
        return None  # no home to keep a key in: compile every time
    directory = config.root / ".letterhead-cache" / "jinja"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory.parent / ".gitignore").write_text("*\n")
    except OSError:
        return None  # read-only checkout: compile every time
    return SignedBytecodeCache(str(directory), key)
