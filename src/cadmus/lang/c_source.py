"""Rendering a Cadmus AST as a C99 program that does what the VM does.

`to_c(module, mode="dsl")` writes one translation unit for any C99 compiler
(`cc -std=c99 prog.c`). Every value is an `int64_t`, the VM's own width.
Where C's meaning differs from the VM's, small `static` helpers emitted at
the top (only those the program uses) keep the VM's:

- `cad_add`, `cad_sub`, `cad_mul`, `cad_neg`, `cad_abs` check before they
  compute (signed overflow is undefined in C) and fail with the VM's
  overflow error; `cad_div`/`cad_mod` truncate like C's `/` and `%` (the
  DSL's), with the zero check and `INT64_MIN / -1`; `cad_fdiv`/`cad_fmod`
  floor (mode python's `//` and `%`); `cad_pow`, `cad_shl`, `cad_shr`
  (arithmetic, flooring, whatever the compiler does with `>>` on negative
  numbers) with the VM's rules for negative counts and overflow;
- an array is, as on the VM, an integer handle: `cad_new(n)`,
  `cad_list(n, (int64_t[]){...})`, `cad_len(a)`, `cad_get(a, i)`,
  `cad_set(a, i, v)` (index checked; mode python: a negative index counts
  from the end), `cad_append`, `cad_pop`;
- comparisons, `!`, `&&` and `||` give the int 1 or 0, made an `int64_t`
  where a number is needed (`(int64_t)(a < b)`); mode python's `and`/`or`
  give the deciding operand (`(x != 0 ? y : 0)`);
- `read()` is `cad_read()`: the next whitespace-separated integer of
  standard input; `print(a, b)` is `printf("%" PRId64 " %" PRId64 "\\n", a, b)`;
- `assert e` is `cad_assert(e)`: a failed check, like every run-time error,
  writes `error: <message>` to standard error and exits with status 1.

C leaves unspecified the order in which the operands of an operator or the
arguments of a call are evaluated. Where that order could be seen (an
effect and something that can fail or be changed by it, or two different
failures), the earlier operands are evaluated into temporaries first, with
the comma operator: `(_t1 = f(x), cad_add(_t1, g(y)))` (see
`cadmus.lang.render_base`). A `for` loop with a constant step whose variable
no later read can see is C's own loop; otherwise a hidden counter runs it
as the VM does. Every variable of a scope is declared at its top with the
value 0, as the VM's frames start; mode python's variables that functions
read are file-scope `static`s. `_ISOC99_SOURCE` keeps the C library's
headers to the names C99 defines, and identifiers that clash with them are
renamed. Execution limits (steps, call depth, memory) are the VM's own and
are not reproduced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cadmus.lang.ast import (
    ArrayLit,
    Assert,
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    Call,
    CmpKind,
    Compare,
    Expr,
    FuncDef,
    Index,
    Module,
    Name,
    Print,
    Stmt,
    Unary,
    UnaryKind,
    const_value,
)
from cadmus.lang.render_base import (
    CHECKED_OPS,
    INDENT,
    INT_MIN,
    Parts,
    TargetRenderer,
    conflict,
    is_atom,
    join_parts,
    position_error,
    string_literal,
    words,
)

__all__ = ["to_c"]

PRELUDE = "#define _ISOC99_SOURCE\n#include <inttypes.h>\n#include <stdio.h>\n#include <stdlib.h>\n"

_OVERFLOW = 'cad_fail("integer overflow: the result is outside the signed 64-bit range")'
_ARRAYS = (
    "typedef struct {\n    int64_t *data;\n    int64_t len, cap;\n} cad_vec;\n"
    "static cad_vec *cad_arrays = NULL;\n"
    "static int64_t cad_count = 0, cad_room = 0;\n"
)
# name -> (code, helpers it uses); emitted in this order.
_HELPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cad_fail": (
        "static void cad_fail(const char *message) {\n"
        "    fflush(stdout);\n"
        '    fprintf(stderr, "error: %s\\n", message);\n'
        "    exit(1);\n"
        "}\n",
        (),
    ),
    "cad_add": (
        "static int64_t cad_add(int64_t a, int64_t b) {\n"
        f"    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) {_OVERFLOW};\n"
        "    return a + b;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_sub": (
        "static int64_t cad_sub(int64_t a, int64_t b) {\n"
        f"    if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b)) {_OVERFLOW};\n"
        "    return a - b;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_mul": (
        "static int64_t cad_mul(int64_t a, int64_t b) {\n"
        "    if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)\n"
        "              : (b > 0 ? a < INT64_MIN / b : a != 0 && b < INT64_MAX / a))\n"
        f"        {_OVERFLOW};\n"
        "    return a * b;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_neg": (
        f"static int64_t cad_neg(int64_t a) {{\n    if (a == INT64_MIN) {_OVERFLOW};\n    return -a;\n}}\n",
        ("cad_fail",),
    ),
    "cad_abs": (
        "static int64_t cad_abs(int64_t a) {\n"
        f"    if (a == INT64_MIN) {_OVERFLOW};\n"
        "    return a < 0 ? -a : a;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_div": (
        "static int64_t cad_div(int64_t a, int64_t b) {\n"
        '    if (b == 0) cad_fail("division by zero");\n'
        f"    if (a == INT64_MIN && b == -1) {_OVERFLOW};\n"
        "    return a / b;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_mod": (
        "static int64_t cad_mod(int64_t a, int64_t b) {\n"
        '    if (b == 0) cad_fail("division by zero");\n'
        "    return b == -1 ? 0 : a % b;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_fdiv": (
        "static int64_t cad_fdiv(int64_t a, int64_t b) {\n"
        "    int64_t q = cad_div(a, b);\n"
        "    return q * b != a && (a < 0) != (b < 0) ? q - 1 : q;\n"
        "}\n",
        ("cad_div",),
    ),
    "cad_fmod": (
        "static int64_t cad_fmod(int64_t a, int64_t b) {\n"
        "    int64_t r = cad_mod(a, b);\n"
        "    return r != 0 && (r < 0) != (b < 0) ? r + b : r;\n"
        "}\n",
        ("cad_mod",),
    ),
    "cad_min": ("static int64_t cad_min(int64_t a, int64_t b) {\n    return b < a ? b : a;\n}\n", ()),
    "cad_max": ("static int64_t cad_max(int64_t a, int64_t b) {\n    return b > a ? b : a;\n}\n", ()),
    "cad_pow": (
        "static int64_t cad_pow(int64_t a, int64_t b) {\n"
        "    int64_t r = 1;\n"
        '    if (b < 0) cad_fail("negative exponent");\n'
        "    if (a == 0 || a == 1) return b == 0 ? 1 : a;\n"
        "    if (a == -1) return b % 2 == 0 ? 1 : -1;\n"
        f"    if (b > 63) {_OVERFLOW};\n"
        "    while (b-- > 0) r = cad_mul(r, a);\n"
        "    return r;\n"
        "}\n",
        ("cad_fail", "cad_mul"),
    ),
    "cad_shl": (
        "static int64_t cad_shl(int64_t a, int64_t b) {\n"
        '    if (b < 0) cad_fail("negative shift count");\n'
        "    if (a == 0) return 0;\n"
        "    if (b == 63 && a == -1) return INT64_MIN;\n"
        f"    if (b > 62) {_OVERFLOW};\n"
        "    return cad_mul(a, (int64_t)1 << b);\n"
        "}\n",
        ("cad_fail", "cad_mul"),
    ),
    "cad_shr": (
        "static int64_t cad_shr(int64_t a, int64_t b) {\n"
        '    if (b < 0) cad_fail("negative shift count");\n'
        "    if (b > 62) return a < 0 ? -1 : 0;\n"
        "    return a >= 0 ? a >> b : -1 - ((-1 - a) >> b);\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_alloc": (
        _ARRAYS + "static int64_t cad_alloc(int64_t n) {\n"
        "    cad_vec *a;\n"
        "    if (cad_count == cad_room) {\n"
        "        cad_room = cad_room ? 2 * cad_room : 16;\n"
        "        cad_arrays = realloc(cad_arrays, (size_t)cad_room * sizeof *cad_arrays);\n"
        '        if (cad_arrays == NULL) cad_fail("out of memory");\n'
        "    }\n"
        "    a = &cad_arrays[cad_count];\n"
        "    a->data = calloc(n > 0 ? (size_t)n : 1, sizeof(int64_t));\n"
        '    if (a->data == NULL) cad_fail("out of memory");\n'
        "    a->len = a->cap = n;\n"
        "    return ++cad_count;\n"
        "}\n"
        "static cad_vec *cad_ref(int64_t h) {\n"
        '    if (h < 1 || h > cad_count) cad_fail("not an array");\n'
        "    return &cad_arrays[h - 1];\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_new": (
        "static int64_t cad_new(int64_t n) {\n"
        '    if (n < 0) cad_fail("negative array size");\n'
        "    return cad_alloc(n);\n"
        "}\n",
        ("cad_fail", "cad_alloc"),
    ),
    "cad_list": (
        "static int64_t cad_list(int64_t n, const int64_t *items) {\n"
        "    int64_t h = cad_alloc(n), i;\n"
        "    for (i = 0; i < n; i++) cad_arrays[h - 1].data[i] = items[i];\n"
        "    return h;\n"
        "}\n",
        ("cad_alloc",),
    ),
    "cad_len": ("static int64_t cad_len(int64_t h) {\n    return cad_ref(h)->len;\n}\n", ("cad_alloc",)),
    "cad_norm": (
        "static int64_t cad_norm(int64_t h, int64_t i) {\n    return i < 0 ? i + cad_ref(h)->len : i;\n}\n",
        ("cad_alloc",),
    ),
    "cad_get": (
        "static int64_t cad_get(int64_t h, int64_t i) {\n"
        "    cad_vec *a = cad_ref(h);\n"
        "{norm}"
        '    if (i < 0 || i >= a->len) cad_fail("index out of range");\n'
        "    return a->data[i];\n"
        "}\n",
        ("cad_fail", "cad_alloc"),
    ),
    "cad_set": (
        "static void cad_set(int64_t h, int64_t i, int64_t v) {\n"
        "    cad_vec *a = cad_ref(h);\n"
        "{norm}"
        '    if (i < 0 || i >= a->len) cad_fail("index out of range");\n'
        "    a->data[i] = v;\n"
        "}\n",
        ("cad_fail", "cad_alloc"),
    ),
    "cad_append": (
        "static void cad_append(int64_t h, int64_t v) {\n"
        "    cad_vec *a = cad_ref(h);\n"
        "    if (a->len == a->cap) {\n"
        "        a->cap = a->cap < 4 ? 4 : 2 * a->cap;\n"
        "        a->data = realloc(a->data, (size_t)a->cap * sizeof(int64_t));\n"
        '        if (a->data == NULL) cad_fail("out of memory");\n'
        "    }\n"
        "    a->data[a->len++] = v;\n"
        "}\n",
        ("cad_fail", "cad_alloc"),
    ),
    "cad_pop": (
        "static int64_t cad_pop(int64_t h) {\n"
        "    cad_vec *a = cad_ref(h);\n"
        '    if (a->len == 0) cad_fail("pop from an empty array");\n'
        "    return a->data[--a->len];\n"
        "}\n",
        ("cad_fail", "cad_alloc"),
    ),
    "cad_read": (
        "static int64_t cad_read(void) {\n"
        "    int64_t v = 0;\n"
        "    int c, negative;\n"
        "    do c = getchar(); while (c == ' ' || c == '\\n' || c == '\\t' || c == '\\r' || c == '\\v' || c == '\\f');\n"
        '    if (c == EOF) cad_fail("no input left");\n'
        "    negative = c == '-';\n"
        "    if (negative) c = getchar();\n"
        "    if (c < '0' || c > '9') cad_fail(\"the input is not an integer\");\n"
        "    for (; c >= '0' && c <= '9'; c = getchar()) {\n"
        "        if (v < (INT64_MIN + (c - '0')) / 10) cad_fail(\"the input is outside the signed 64-bit range\");\n"
        "        v = 10 * v - (c - '0');\n"
        "    }\n"
        "    if (c != EOF && c != ' ' && c != '\\n' && c != '\\t' && c != '\\r' && c != '\\v' && c != '\\f')\n"
        '        cad_fail("the input is not an integer");\n'
        "    ungetc(c, stdin);\n"
        "    if (negative) return v;\n"
        '    if (v == INT64_MIN) cad_fail("the input is outside the signed 64-bit range");\n'
        "    return -v;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_step": (
        "static int64_t cad_step(int64_t s) {\n"
        '    if (s == 0) cad_fail("range() step must not be zero");\n'
        "    return s;\n"
        "}\n",
        ("cad_fail",),
    ),
    "cad_assert": (
        'static void cad_assert(int64_t ok) {\n    if (!ok) cad_fail("assertion failed");\n}\n',
        ("cad_fail",),
    ),
    "cad_check": (
        "static void cad_check(int64_t ok, const char *error) {\n    if (!ok) cad_fail(error);\n}\n",
        ("cad_fail",),
    ),
    "cad_bound": (
        "static int64_t cad_bound(int64_t set, int64_t v, const char *error) {\n"
        "    if (!set) cad_fail(error);\n"
        "    return v;\n"
        "}\n",
        ("cad_fail",),
    ),
}
_NORM_LINE = "    if (i < 0) i += a->len;\n"

KEYWORDS = words(
    "auto break case char const continue default do double else enum extern float for goto if inline int "
    "long register restrict return short signed sizeof static struct switch typedef union unsigned void "
    "volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert "
    "_Thread_local asm typeof bool true false nullptr constexpr static_assert thread_local alignas alignof "
    "typeof_unqual main"
)
# What <stdio.h>, <stdlib.h>, <stdint.h> and <inttypes.h> declare in C99, and the math and string
# functions compilers know as builtins: a user name among them is renamed.
_LIBRARY = words(
    """
    FILE fpos_t size_t NULL BUFSIZ EOF FOPEN_MAX FILENAME_MAX L_tmpnam SEEK_CUR SEEK_END SEEK_SET TMP_MAX
    stderr stdin stdout remove rename tmpfile tmpnam fclose fflush fopen freopen setbuf setvbuf fprintf
    fscanf printf scanf snprintf sprintf sscanf vfprintf vfscanf vprintf vscanf vsnprintf vsprintf vsscanf
    fgetc fgets fputc fputs getc getchar gets putc putchar puts ungetc fread fwrite fgetpos fseek fsetpos
    ftell rewind clearerr feof ferror perror va_list EXIT_FAILURE EXIT_SUCCESS MB_CUR_MAX RAND_MAX div_t
    ldiv_t lldiv_t wchar_t atof atoi atol atoll strtod strtof strtold strtol strtoll strtoul strtoull rand
    srand calloc free malloc realloc abort atexit exit getenv system bsearch qsort abs labs llabs div
    ldiv lldiv mblen mbtowc wctomb mbstowcs wcstombs ptrdiff_t max_align_t offsetof imaxabs imaxdiv
    imaxdiv_t strtoimax strtoumax wcstoimax wcstoumax PTRDIFF_MIN PTRDIFF_MAX SIG_ATOMIC_MIN SIG_ATOMIC_MAX
    SIZE_MAX WCHAR_MIN WCHAR_MAX WINT_MIN WINT_MAX acos asin atan atan2 ceil cos cosh exp fabs floor fmod
    frexp ldexp log log10 modf pow sin sinh sqrt tan tanh cbrt exp2 expm1 fdim fma fmax fmin hypot ilogb
    lgamma llrint llround log1p log2 logb lrint lround nan nearbyint nextafter nexttoward remainder remquo
    rint round scalbln scalbn tgamma trunc erf erfc copysign acosh asinh atanh memcpy memmove memset
    memcmp memchr strcpy strncpy strcat strncat strcmp strncmp strchr strrchr strstr strlen strspn
    strcspn strpbrk strtok strerror strcoll strxfrm isalnum isalpha isblank iscntrl isdigit isgraph
    islower isprint ispunct isspace isupper isxdigit tolower toupper alloca index rindex bzero bcmp ffs
    signal raise setjmp longjmp errno assert clock time difftime mktime
    """
)
_HELPER_NAMES = frozenset(_HELPERS) | {"cad_vec", "cad_arrays", "cad_count", "cad_room", "cad_ref"}
RESERVED = KEYWORDS | _LIBRARY | _HELPER_NAMES
# Temporaries, and what C reserves everywhere (a leading `__` or `_` and a capital letter) and
# what <stdint.h>/<inttypes.h> define by pattern.
_TEMP = re.compile(
    r"_[tcnsd][0-9]+|__\w*|_[A-Z]\w*|u?int(_least|_fast)?[0-9]+_t|u?int(max|ptr)_t|"
    r"U?INT(_LEAST|_FAST)?[0-9]+_(MIN|MAX|C)|U?INT(MAX|PTR)_(MIN|MAX|C)|(PRI|SCN)\w+"
)

# Precedence (higher binds tighter).
_P_TERN, _P_OR, _P_AND, _P_BOR, _P_BXOR, _P_BAND, _P_EQ, _P_REL = 1, 2, 3, 4, 5, 6, 7, 8
_P_UNARY, _P_ATOM = 12, 14
_CMP = {
    CmpKind.EQ: ("==", _P_EQ),
    CmpKind.NE: ("!=", _P_EQ),
    CmpKind.LT: ("<", _P_REL),
    CmpKind.LE: ("<=", _P_REL),
    CmpKind.GT: (">", _P_REL),
    CmpKind.GE: (">=", _P_REL),
}
_BITS = {BinOpKind.BAND: ("&", _P_BAND), BinOpKind.BOR: ("|", _P_BOR), BinOpKind.BXOR: ("^", _P_BXOR)}
_CALLED = {k: "cad_" + name for k, name in CHECKED_OPS.items()}
_BUILTIN_HELPERS = {
    "len": "cad_len",
    "abs": "cad_abs",
    "min": "cad_min",
    "max": "cad_max",
    "array": "cad_new",
    "read": "cad_read",
    "pop": "cad_pop",
}


def to_c(module: Module, *, mode: str = "dsl") -> str:
    """A C99 program that does what `module` does on the VM in `mode`; `PrintError` if it has none."""
    return _C.run(module, mode)


def literal(value: int) -> str:
    """A C integer constant of type `int64_t`'s range."""
    return "INT64_MIN" if value == INT_MIN else str(value)


def quote(text: str) -> str:
    """A C string literal (ASCII, other bytes as octal escapes)."""
    return string_literal(text, "03o", "?")


class _C(TargetRenderer):
    LANGUAGE = "C"
    HELPERS = _HELPERS
    NORM_LINE = _NORM_LINE
    RESERVED = RESERVED
    TEMP = _TEMP
    PREFIX = "cad_"
    CALLED = _CALLED
    P_ATOM, P_UNARY, P_REL = _P_ATOM, _P_UNARY, _P_REL
    DECLARE = "int64_t "
    TRUE, FALSE = "1", "0"

    def __init__(self, module: Module, mode: str) -> None:
        super().__init__(module, mode)
        self.temps: list[str] = []  # the current function's temporaries

    def int_text(self, value: int) -> str:
        return literal(value)

    def string_text(self, text: str) -> str:
        return quote(text)

    def fresh(self, kind: str = "t") -> str:
        name = super().fresh(kind)
        self.temps.append(name)
        return name

    # ---- module -------------------------------------------------------------

    def render(self) -> str:
        a = self.a
        funcs: list[str] = []
        for f in a.funcs.values():
            funcs.append("")
            self.function(f, funcs)
        self.scope, self.in_main, self.func = a.main_body, True, None
        main = ["int main(void) {"]
        self.scope_block([n for n in a.main_names if n not in a.shared], a.main_body, main)
        main += [INDENT + "return 0;", "}"]
        parts = [PRELUDE]
        helpers = self.helper_code()
        if helpers:
            parts.append("\n".join(helpers))
        head: list[str] = []
        # mode python's variables that functions read, and the main program's flags, are file-scope
        statics = self.variables([n for n in a.main_names if n in a.shared], None)
        if statics:
            head.append("static " + self.declare(statics))
        head += [self.signature(f) + ";" for f in a.funcs.values()]
        if head:
            parts.append("\n".join(head) + "\n")
        if funcs:
            parts.append("\n".join(funcs[1:]) + "\n")
        parts.append("\n".join(main) + "\n")
        return "\n".join(parts)

    def signature(self, f: FuncDef) -> str:
        a = self.a
        params = ", ".join(f"int64_t {a.name(p)}" for p in f.params) or "void"
        return f"static int64_t {a.name(f.name)}({params})"

    def function_head(self, f: FuncDef) -> str:
        return self.signature(f) + " {"

    def scope_block(self, names: list[str], body: tuple[Stmt, ...], out: list[str]) -> None:
        """A scope's declarations (its variables, then the temporaries its code needs) and its code."""
        self.temps = []
        code: list[str] = []
        self.block(body, 1, code)
        if self.func is None:  # the main program's flags are file-scope statics
            pairs = [(self.a.name(n), "0") for n in names]
        else:
            pairs = self.variables(names, self.func)
        if pairs:
            out.append(INDENT + self.declare(pairs))
        if self.temps:
            out.append(INDENT + "int64_t " + ", ".join(self.temps) + ";")
        out += code

    # ---- statements ---------------------------------------------------------

    def assert_stmt(self, s: Assert, pad: str, out: list[str]) -> None:
        pre, text, _ = self.cond_parts(s.test)
        self.lift(pre, pad, out)
        if s.error is None:
            out.append(f"{pad}{self.use('cad_assert')}({text});")
        else:
            out.append(f"{pad}{self.use('cad_check')}({text}, {quote(s.error)});")

    def append_text(self, e: Call, pad: str, out: list[str]) -> str:
        pre, (array, item) = self.operands(e.args)
        self.lift(pre, pad, out)
        return f"{self.use('cad_append')}({array}, {item})"

    def set_element(self, value: Expr, target: Index, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        # The VM evaluates the value, then the array, then the index.
        pre, (text, array, index) = self.operands((value, target.array, target.index))
        self.lift(pre, pad, out)
        out.append(f"{pad}{self.use('cad_set')}({array}, {index}, {text});")

    def print_(self, s: Print, pad: str, out: list[str]) -> None:
        if not s.args:
            out.append(f'{pad}printf("\\n");')
            return
        pre, texts = self.operands(s.args)
        self.lift(pre, pad, out)
        # Varargs are not converted: what may have C type int is made an int64_t.
        args = [_as_int64(x, t) for x, t in zip(s.args, texts, strict=True)]
        fmt = '"%" PRId64' + ' " %" PRId64' * (len(args) - 1)
        out.append(f'{pad}printf({fmt} "\\n", {", ".join(args)});')

    def checked_add(self, a: str, b: str) -> str:
        return f"{self.use('cad_add')}({a}, {b})"

    def either_way(self, stride: str, counter: str, stop: str) -> str:
        return f"{stride} > 0 ? {counter} < {stop} : {counter} > {stop}"

    # ---- expressions --------------------------------------------------------

    def operands(self, es: Sequence[Expr], needs: tuple[int, ...] = ()) -> tuple[list[str], list[str]]:
        """Operands C may evaluate in any order, as text (parenthesized to bind at least `needs`).

        An operand that a later one could tell apart from it (see `conflict`)
        goes into a temporary; the assignments come back first, in the VM's order.
        """
        costs = [self.a.cost(e) for e in es]
        pre: list[str] = []
        texts: list[str] = []
        for j, e in enumerate(es):
            parts = self.parts(e)
            if not costs[j].pure and any(conflict(costs[j], costs[k]) for k in range(j + 1, len(es))):
                temp = self.fresh()
                pre.append(f"{temp} = {join_parts(parts, 0)}")
                texts.append(temp)
            else:
                texts.append(join_parts(parts, needs[j] if needs else 0))
        return pre, texts

    def cond_parts(self, e: Expr) -> Parts:
        """`e` as a condition: C's `if`, `!`, `&&` and `||` test against 0."""
        if isinstance(e, Compare):
            op, prec = _CMP[e.op]
            pre, (left, right) = self.operands((e.left, e.right), (prec + 1, prec + 1))
            return pre, f"{left} {op} {right}", prec
        if isinstance(e, Unary) and e.op is UnaryKind.NOT:
            return [], "!" + self.cond(e.operand, _P_UNARY), _P_UNARY
        if isinstance(e, BoolOp):
            if e.op is BoolKind.AND:
                return [], f"{self.cond(e.left, _P_AND)} && {self.cond(e.right, _P_AND + 1)}", _P_AND
            # `a && b || c` is written `(a && b) || c`, as compilers suggest
            left, right = (self.cond(x, _P_AND + 1 if _is_and(x) else _P_OR) for x in (e.left, e.right))
            if not _is_and(e.right):
                right = self.cond(e.right, _P_OR + 1)
            return [], f"{left} || {right}", _P_OR
        return self.parts(e)

    def other_parts(self, e: Expr) -> Parts:
        if isinstance(e, Unary):
            if e.op is UnaryKind.NOT:
                return [], "(int64_t)!" + self.cond(e.operand, _P_UNARY), _P_UNARY
            return [], f"{self.use('cad_neg')}({self.value(e.operand)})", _P_ATOM
        if isinstance(e, BinOp):
            op, prec = _BITS[e.op]
            # `a | (b & c)`: different bit operators nested are parenthesized, as compilers suggest
            same = isinstance(e.left, BinOp) and e.left.op is e.op
            needs = (prec if same else _P_BAND + 1, _P_BAND + 1)
            pre, (left, right) = self.operands((e.left, e.right), needs)
            return pre, f"{left} {op} {right}", prec
        if isinstance(e, Compare | BoolOp) and not (isinstance(e, BoolOp) and self.python):
            return [], f"(int64_t)({self.cond(e)})", _P_UNARY
        if isinstance(e, BoolOp):  # mode python: the deciding operand
            right = self.value(e.right, _P_TERN + 1)
            if is_atom(e.left):
                left = self.value(e.left, _P_EQ + 1)
                if e.op is BoolKind.AND:
                    return [], f"({left} != 0 ? {right} : 0)", _P_ATOM
                return [], f"({left} != 0 ? {left} : {right})", _P_ATOM
            temp = self.fresh()
            test = f"({temp} = {self.value(e.left)}) != 0"
            if e.op is BoolKind.AND:
                return [], f"({test} ? {right} : 0)", _P_ATOM
            return [], f"({test} ? {temp} : {right})", _P_ATOM
        if isinstance(e, Call):
            pre, args = self.operands(e.args)
            helper = _BUILTIN_HELPERS.get(e.func)
            if helper is None:
                raise position_error(e, f"unknown function '{e.func}'")
            return pre, f"{self.use(helper)}({', '.join(args)})", _P_ATOM
        if isinstance(e, ArrayLit):
            if not e.elts:
                return [], f"{self.use('cad_list')}(0, NULL)", _P_ATOM
            pre, items = self.operands(e.elts)
            return pre, f"{self.use('cad_list')}({len(items)}, (int64_t[]){{{', '.join(items)}}})", _P_ATOM
        raise position_error(e, f"cannot render {type(e).__name__} as C")


def _is_and(e: Expr) -> bool:
    return isinstance(e, BoolOp) and e.op is BoolKind.AND


def _as_int64(e: Expr, text: str) -> str:
    """`text` (the rendering of `e`) as an `int64_t` for printf: C gives constants and
    operators on them the type int."""
    if text.startswith("_") or isinstance(e, Name):
        return text  # a temporary or a variable
    if const_value(e) is not None:
        return text if text == "INT64_MIN" else f"INT64_C({text})"
    if (isinstance(e, Unary) and e.op is UnaryKind.INVERT) or (isinstance(e, BinOp) and e.op in _BITS):
        return f"(int64_t)({text})"
    if isinstance(e, BoolOp):  # mode python's (x != 0 ? y : 0)
        return f"(int64_t){text}"
    return text
